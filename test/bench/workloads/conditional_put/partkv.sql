-- Conditional PutItem that only creates (attribute_not_exists); keys are
-- drawn from a large space, so nearly every call creates a new item.
\set p random(1, 9000000000000000000)
SELECT partkv.put_item('bench', jsonb_build_object('pk', 'n' || :p, 'sk', 's1', 'v', 1),
					   condition => 'attribute_not_exists(pk)');
