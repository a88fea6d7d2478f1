#ifndef STRATA_CMARIADB_SHIM_H
#define STRATA_CMARIADB_SHIM_H
#if __has_include(<mysql.h>)
#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>
#elif __has_include(<mariadb/mysql.h>)
#include <mariadb/mysql.h>
#include <mariadb/errmsg.h>
#include <mariadb/mysqld_error.h>
#else
#include <mysql/mysql.h>
#endif
#endif
