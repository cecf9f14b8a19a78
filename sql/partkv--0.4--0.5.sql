/* partkv--0.4--0.5.sql: integrity (issue 14) */

\echo Use "ALTER EXTENSION partkv UPDATE TO '0.5'" to load this file. \quit
