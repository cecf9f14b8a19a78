-- Demo data for `make run`: a DynamoDB-style orders table keyed by customer
-- and order.  Idempotent: does nothing when demo_orders already exists, so
-- the items a developer changed are left alone.  (list_tables names a table
-- outside the search_path with its schema: accept both spellings.)
SELECT NOT EXISTS (SELECT 1 FROM partkv.list_tables() t
				   WHERE t IN ('demo_orders', current_schema() || '.demo_orders'))
	AS need_demo \gset

\if :need_demo
BEGIN;
SELECT partkv.create_table('demo_orders', 'customer_id', 'S',
						   sort_key => 'order_id', sort_key_type => 'S');
SELECT partkv.put_item('demo_orders', '{"customer_id": "c1", "order_id": "o1", "total": 12.5, "status": "SHIPPED"}');
SELECT partkv.put_item('demo_orders', '{"customer_id": "c1", "order_id": "o2", "total": 7, "status": "PENDING", "lines": [{"sku": "A-1", "qty": 2}]}');
SELECT partkv.put_item('demo_orders', '{"customer_id": "c1", "order_id": "o3", "total": 99.99, "status": "PENDING", "gift": true}');
SELECT partkv.put_item('demo_orders', '{"customer_id": "c2", "order_id": "o1", "total": 3.2, "status": "SHIPPED"}');
SELECT partkv.put_item('demo_orders', '{"customer_id": "c2", "order_id": "o2", "total": 41, "status": "CANCELLED", "tags": {"$SS": ["promo", "web"]}}');
SELECT partkv.put_item('demo_orders', '{"customer_id": "c3", "order_id": "o1", "total": 18.75, "status": "SHIPPED", "address": {"city": "Lyon", "zip": "69001"}}');
COMMIT;
\endif
