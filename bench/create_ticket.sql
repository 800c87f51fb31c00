-- The statements `POST /v1/tickets` runs (captured with log_statement = all), for pgbench -M prepared.
\set c random(1, 1000)
SELECT id, tenant_id, user_id, name, role, prefix, key_hash, created_at, last_used_at, revoked_at FROM api_keys WHERE key_hash = :keyhash LIMIT 1;
SELECT id, tenant_id, email, name, password_hash, role, active, created_at, updated_at FROM users WHERE id = :owner LIMIT 1;
BEGIN;
SELECT set_config('role', 'copilot_app', true), set_config('app.tenant_id', :tenant, true);
INSERT INTO customers (id, tenant_id, email, name, created_at) VALUES (gen_random_uuid(), :tenant, 'c' || :c || '@bench.test', NULL, now()) ON CONFLICT (tenant_id, email) DO NOTHING;
SELECT id AS customer_id, tenant_id, email, name, created_at FROM customers WHERE tenant_id = :tenant AND email = 'c' || :c || '@bench.test' LIMIT 1 \gset
UPDATE tenants SET ticket_counter = ticket_counter + 1 WHERE id = :tenant RETURNING ticket_counter \gset
INSERT INTO tickets (id, tenant_id, number, subject, status, priority, channel, customer_id, assignee_id, created_at, updated_at) VALUES (gen_random_uuid(), :tenant, :ticket_counter, 'Order ' || :c || ' is late', 'new', 'normal', 'api', :customer_id, NULL, now(), now()) RETURNING id AS ticket_id, tenant_id, number, subject, status, priority, channel, customer_id, assignee_id, created_at, updated_at \gset
INSERT INTO messages (id, tenant_id, ticket_id, author, author_user_id, body, created_at) VALUES (gen_random_uuid(), :tenant, :ticket_id, 'customer', NULL, 'Where is my order?', now()) RETURNING id, tenant_id, ticket_id, author, author_user_id, body, created_at;
INSERT INTO audit_events (id, tenant_id, actor_kind, actor_id, action, target_kind, target_id, target_label, data, created_at) VALUES (gen_random_uuid(), :tenant, 'api_key', :key_id, 'ticket.created', 'ticket', :ticket_id, '#' || :ticket_counter, '{"channel": "api"}', now());
COMMIT;
