/// `GET /health` and `GET /ready` when all is well: `{"status": "ok"}` / `{"status": "ready"}`.
struct StatusBody: Encodable {
    var status: String
}
