-- wrk script: POST /v1/triage of one customer message (the models through HTTP, no queue).
wrk.method = "POST"
wrk.path = "/v1/triage"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
wrk.body = '{"text":"Where is my order? I ordered a week ago and nothing has arrived."}'
