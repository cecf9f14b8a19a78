/*-------------------------------------------------------------------------
 *
 * eval.h
 *	  Server-side evaluation of DynamoDB expressions (parsed and validated
 *	  by src/expr/) against jsonb items: conditions and filters, update
 *	  expressions and projections, with DynamoDB's comparison semantics
 *	  (SPEC-dynamodb.md §4.6-§4.10).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_EVAL_H
#define PARTKV_EVAL_H

#include "postgres.h"
#include "utils/jsonb.h"

#include "../expr/expr.h"
#include "../storage/item.h"

/*
 * The validated expressions of one request, ready to evaluate.  Built by
 * KvExprCompile in CurrentMemoryContext; everything it holds is freed with
 * that context.
 */
typedef struct KvExprSet
{
	KvExprArena arena;
	KvExprRequestResult parsed; /* parsed.expr[kind] NULL when absent */
	Jsonb	   *values;			/* ExpressionAttributeValues (canonical), or NULL */
} KvExprSet;

/* the expression texts of one request (NULL when a parameter is absent) */
typedef struct KvExprTexts
{
	const char *text[KVEXPR_NKINDS];	/* indexed by KvExprKind */
} KvExprTexts;

/*
 * Parse and validate the expressions of a request with its
 * ExpressionAttributeNames (jsonb object "#n" -> "name", or NULL) and
 * ExpressionAttributeValues (jsonb object ":v" -> value, or NULL).  Raises
 * DynamoDB's ValidationException (42601 syntax, 22023 other, 54000 limits).
 */
extern KvExprSet *KvExprCompile(const KvExprTexts *texts, Jsonb *names, Jsonb *values);

/* true when the request has an expression of this kind */
extern bool KvExprHas(const KvExprSet *set, KvExprKind kind);

/*
 * Evaluate the CONDITION or FILTER expression on an item (NULL: the item
 * does not exist).  An absent expression is true.
 */
extern bool KvExprTest(KvExprSet *set, KvExprKind kind, Jsonb *item);

/*
 * Apply the PROJECTION expression to an item; returns the item itself when
 * there is no projection.  Unresolvable paths are dropped.
 */
extern Jsonb *KvExprProject(KvExprSet *set, Jsonb *item);

/* ExpressionAttributeValues[placeholder] into *out; false when undefined */
extern bool KvExprLookupValue(KvExprSet *set, const char *placeholder, JsonbValue *out);

/* the result of applying an UpdateExpression to an item */
typedef struct KvUpdateResult
{
	Jsonb	   *new_item;		/* NULL when no item results (missing + only REMOVE/DELETE) */
	Jsonb	   *updated_old;	/* UPDATED_OLD attributes (object), or NULL */
	Jsonb	   *updated_new;	/* UPDATED_NEW attributes (object, no keys), or NULL */
} KvUpdateResult;

/*
 * Apply the UPDATE expression to old_item (NULL: missing item, which is
 * then created from key_item, the request's key as an item).  Key
 * attributes may not be targeted.  Runtime errors are DynamoDB's
 * ValidationExceptions (22023).  With no UPDATE expression the result is
 * the old item, or the key-only item when it was missing.
 */
extern KvUpdateResult KvExprApplyUpdate(KvExprSet *set, Jsonb *old_item, Jsonb *key_item,
										const KvKeySchema *schema);

/*
 * DynamoDB value comparison, shared with query and scan: equality (deep,
 * sets unordered, numbers by value) and ordering of N, S and B values.
 * KvValueCompare returns false in *comparable when the two values cannot
 * be ordered (different types, or not N/S/B).
 */
extern bool KvValueEquals(const JsonbValue *a, const JsonbValue *b);
extern int	KvValueCompare(const JsonbValue *a, const JsonbValue *b, bool *comparable);

#endif							/* PARTKV_EVAL_H */
