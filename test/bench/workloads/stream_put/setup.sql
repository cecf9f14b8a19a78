-- A copy of the bench table with a NEW_IMAGE stream: the same puts with and
-- without capture, and the materialised stream's delay.
-- Also stream_gsi_put's baseline: made once.
SET client_min_messages = warning;
SELECT to_regclass('public.bench_stream') IS NULL AS missing \gset
\if :missing
SELECT partkv.create_table('bench_stream', 'pk', 'S', sort_key => 'sk', sort_key_type => 'S',
						   stream_view_type => 'NEW_IMAGE') IS NOT NULL;
INSERT INTO public.bench_stream SELECT * FROM public.bench;
\endif
SELECT partkv.stream_wait('120s');
