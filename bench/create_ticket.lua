-- wrk script: POST /v1/tickets with one of 1,000 customers, like bench/create_ticket.sql.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")

request = function()
    local c = math.random(1, 1000)
    local body = string.format(
        '{"subject":"Order %d is late","channel":"api","customer":{"email":"c%d@bench.test"},"body":"Where is my order?"}',
        c, c)
    return wrk.format(nil, "/v1/tickets", nil, body)
end
