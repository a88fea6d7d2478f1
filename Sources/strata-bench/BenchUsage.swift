/// The help text of `strata-bench`.
enum BenchUsage {
    static let text = """
        usage: strata-bench driver --url URL [options]

        Single-row primary-key selects with one bind, through Database.withConnection
        (one lease per query, as an application does), from tasks that prefer the
        pool's executor (Database.executor). Prints queries/second.

          --url URL             postgres://… or mysql://… (the scheme picks the driver)
          --table T             table to read                  (default pgbench_accounts)
          --key-column C        integer primary key column     (default aid)
          --value-column V      integer column returned        (default abalance)
          --rows N              keys are drawn from 1…N        (default 100000)
          --queries N           timed queries in all           (default 20000)
          --tasks N             concurrent tasks; the pool has as many connections (default 1)
          --warmup N            untimed queries first          (default 2000)
          --no-pool             the driver alone, a connection per thread (--tasks
                                of them), without Database: the reference that
                                tells the pool's cost apart
          --default-executor    the tasks run on Swift's default executor: every
                                lease is handed to a connection thread and back
        """
}
