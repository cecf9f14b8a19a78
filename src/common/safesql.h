/*-------------------------------------------------------------------------
 *
 * safesql.h
 *	  The one way partkv runs SQL where a user object could be reached
 *	  with more rights than its owner's.
 *
 * Three rules, each with its helper here:
 *
 * 1. partkv's own SQL runs with search_path = "pg_catalog, pg_temp".
 *	  Functions, operators and types are then found only in pg_catalog or
 *	  named with their schema (partkv.x): no user schema is searched, and
 *	  pg_temp is never searched for functions or operators.  A background
 *	  worker fixes it for its whole session when it starts
 *	  (KvWorkerSecureSession), over any ALTER DATABASE/ROLE ... SET; SQL run
 *	  in a user's session or a handler worker is bracketed by
 *	  KvSqlBegin/KvSqlEnd.  Function calls in partkv's SQL strings are
 *	  schema-qualified as well; operators need not be, as none but
 *	  pg_catalog's is visible.
 *
 * 2. Code that belongs to a user (a trigger, rule or index expression on a
 *	  table the user owns, a stream handler) never runs with partkv's
 *	  rights: a worker that writes such a table does it as its owner, in a
 *	  security-restricted operation (no SET ROLE, SET SESSION
 *	  AUTHORIZATION or temporary objects), and every setting the user's code
 *	  changed is undone afterwards (KvSqlBegin with a role).
 *	  partkv_internal.execute_as_owner gives the install script's functions the same.
 *
 * 3. A stream handler runs in a background worker connected as the role
 *	  that registered it (src/stream/handlers.c): its session has no
 *	  superuser state at all.  partkv's bookkeeping there is the only SQL
 *	  run with more rights, under rule 1.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_COMMON_SAFESQL_H
#define PARTKV_COMMON_SAFESQL_H

#include "postgres.h"

/* the search_path of every SQL statement partkv runs itself */
#define KV_SAFE_SEARCH_PATH "pg_catalog, pg_temp"

/* what KvSqlEnd restores */
typedef struct KvSqlScope
{
	Oid			save_userid;
	int			save_sec_context;
	int			guc_level;
} KvSqlScope;

/*
 * A background worker's first act after connecting: fixes search_path for
 * the session, whatever the database's or role's settings say.
 */
extern void KvWorkerSecureSession(void);

/*
 * Run partkv's SQL with the safe search_path until KvSqlEnd.  With a valid
 * role, also as that role in a security-restricted operation (use it for
 * every statement that can reach a user's code: as the owner of the user's
 * table).  Settings changed meanwhile are undone by KvSqlEnd; an error
 * undoes everything with the (sub)transaction.
 */
extern void KvSqlBegin(KvSqlScope *scope, Oid role);
extern void KvSqlEnd(KvSqlScope *scope);

/*
 * Run a user's own code (a stream handler) as the current user, in a
 * security-restricted operation, with the user's search_path; settings it
 * changes are undone by KvSqlEnd.
 */
extern void KvUserCodeBegin(KvSqlScope *scope);

/* the owner of a relation */
extern Oid	KvRelationOwner(Oid relid);

#endif							/* PARTKV_COMMON_SAFESQL_H */
