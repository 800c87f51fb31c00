-- wrk script: GET /v1/tickets (first page of 25), like bench/list_tickets.sql.
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
wrk.path = "/v1/tickets?limit=25"
