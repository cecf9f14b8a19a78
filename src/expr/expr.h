/*-------------------------------------------------------------------------
 *
 * expr.h
 *	  DynamoDB expression language front end: lexer, parser and static
 *	  validation of ConditionExpression, FilterExpression,
 *	  KeyConditionExpression, UpdateExpression and ProjectionExpression.
 *
 * This module is plain C11 and does not include any PostgreSQL header, so
 * that it can be built on its own and fuzzed (test/fuzz/).  The server links
 * the same objects and evaluates the resulting ASTs against jsonb items.
 *
 * Overview for the caller (the server side):
 *
 *	1. Set up a KvExprArena with an allocator (palloc in the server,
 *	   malloc/free in the fuzzer).  Everything this module returns, including
 *	   error messages, lives in the arena; KvExprArenaDestroy frees it all.
 *	2. Fill a KvExprRequest with the expression texts of one request and the
 *	   keys of ExpressionAttributeNames / ExpressionAttributeValues, and call
 *	   KvExprValidateRequest.  It parses and validates every expression the
 *	   way DynamoDB does, including the request-wide "unused" checks, and
 *	   decomposes the KeyConditionExpression.
 *	3. On error, raise error.message with the SQLSTATE matching error.kind
 *	   (KVEXPR_ERROR_SYNTAX -> 42601, KVEXPR_ERROR_VALIDATION -> 22023,
 *	   KVEXPR_ERROR_LIMIT -> 54000, KVEXPR_ERROR_OUT_OF_MEMORY -> 53200).
 *	   Messages are worded exactly like DynamoDB's, already prefixed with
 *	   "Invalid <Param>: " where DynamoDB does so.
 *	4. On success, walk the ASTs (see "What the evaluator must do" below).
 *
 * Error order follows DynamoDB (as reverse-engineered from DynamoDB Local):
 * per expression, in the order Update, Condition, Filter, Projection,
 * KeyCondition: empty text, size limit, syntax (first offending token,
 * redundant parentheses), then a tree walk in source order (reserved
 * keywords, list index range, function names and placement, repeated update
 * sections), then validation (path depth, #name / :value definitions,
 * operand counts and types, distinct operands, IN size, operator count,
 * overlapping / conflicting update and projection paths).  After all
 * expressions: unused ExpressionAttributeNames, then unused
 * ExpressionAttributeValues, then the KeyConditionExpression shape.
 *
 * Checks that need the *contents* of ExpressionAttributeValues are done here
 * only when the caller supplies a KvExprValueTypeFn (value_type in
 * KvExprRequest): operand types of comparators, functions, +/-, ADD and
 * DELETE, and attribute_type's type-name string.  What remains for the
 * server, because it needs value comparison, the operation or the table:
 * BETWEEN with two constant bounds (same type, lower <= upper; messages in
 * SPEC §4.6), number range of arithmetic results, "ExpressionAttributeValues
 * can only be specified when using expressions: <list> is null" (the list
 * depends on the operation), invalid values in ExpressionAttributeValues,
 * the 2 MB total of names + values, and everything that depends on the
 * table schema (key attributes, index keys, "Filter Expression can only
 * contain non-primary key attributes" in a Query).
 *
 * What the evaluator must do (server side, SPEC §4.5-§4.10):
 *
 *	- PATH: resolve elems against the item: NAME looks up a map key (the
 *	  top-level attribute for elems[0]), INDEX a list element.  A path that
 *	  does not resolve is "missing" (not an error in conditions).
 *	- VALUE: look the placeholder up in ExpressionAttributeValues (jsonb).
 *	- COMPARE / BETWEEN / IN, AND / OR / NOT (evaluate left to right, short
 *	  circuit allowed: "unused" was decided here, before evaluation), and the
 *	  functions, with DynamoDB's typing: missing or mismatched item values
 *	  make a comparison false (never an error), "<>" is true for missing.
 *	- size() yields a number, or "missing" for N/BOOL/NULL item values.
 *	- UpdateExpression: apply actions against the *old* item: all list
 *	  indexes refer to positions before the update; SET RHS paths must exist
 *	  ("The provided expression refers to an attribute that does not exist
 *	  in the item"); PLUS/MINUS need numbers; list_append needs lists;
 *	  if_not_exists(p, v) is p's value if present else v; ADD / DELETE per
 *	  SPEC §4.9; overlapping targets have already been rejected here.
 *	- ProjectionExpression: copy each resolvable path into the result,
 *	  keeping the nesting; silently drop unresolvable ones.
 *	- KeyConditionExpression: use result->keyconds (see KvExprKeyCondition).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_EXPR_H
#define PARTKV_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* DynamoDB limits (SPEC §4.11) */
#define KVEXPR_MAX_EXPRESSION_BYTES	4096	/* per expression text */
#define KVEXPR_MAX_OPERATORS		300 /* operators + functions */
#define KVEXPR_MAX_IN_OPERANDS		100 /* entries of an IN list */
#define KVEXPR_MAX_PATH_DEPTH		32	/* document path components */
#define KVEXPR_MAX_PLACEHOLDER_BYTES 255	/* "#name" / ":value" keys */

/*
 * partkv's own bound on syntactic nesting (parentheses, NOT, function
 * calls), so that the recursive parser and tree walks use bounded stack.  It
 * is above anything an expression within the 300-operator limit can reach,
 * so it never rejects an expression DynamoDB accepts.
 */
#define KVEXPR_MAX_NESTING			700

/* ----------------------------------------------------------------
 * Memory
 * ----------------------------------------------------------------
 */

/*
 * Allocation callbacks.  alloc returns NULL on failure (or does not return,
 * like palloc); free may be NULL when the memory is reclaimed in bulk (a
 * PostgreSQL memory context).
 */
typedef struct KvExprAllocator
{
	void	   *(*alloc) (void *ctx, size_t size);
	void		(*free) (void *ctx, void *ptr);
	void	   *ctx;
} KvExprAllocator;

typedef struct KvExprArenaChunk KvExprArenaChunk;

/*
 * A chunked bump allocator.  Everything the module allocates for one call
 * goes here and is released at once by KvExprArenaDestroy.  No global state:
 * two arenas may be used concurrently.
 */
typedef struct KvExprArena
{
	KvExprAllocator allocator;
	KvExprArenaChunk *chunks;	/* newest first */
	char	   *next;			/* free space in chunks */
	size_t		avail;
	bool		failed;			/* an allocation has failed */
} KvExprArena;

extern void KvExprArenaInit(KvExprArena *arena, const KvExprAllocator *allocator);
extern void *KvExprArenaAlloc(KvExprArena *arena, size_t size);
extern void KvExprArenaDestroy(KvExprArena *arena);

/* ----------------------------------------------------------------
 * Errors
 * ----------------------------------------------------------------
 */

typedef enum KvExprErrorKind
{
	KVEXPR_OK = 0,
	KVEXPR_ERROR_SYNTAX,		/* "Syntax error; token: ..." -> 42601 */
	KVEXPR_ERROR_VALIDATION,	/* any other ValidationException -> 22023 */
	KVEXPR_ERROR_LIMIT,			/* size / count limits -> 54000 */
	KVEXPR_ERROR_OUT_OF_MEMORY	/* allocator returned NULL */
} KvExprErrorKind;

/* The five expression parameters; also the index into per-kind arrays */
typedef enum KvExprKind
{
	KVEXPR_UPDATE = 0,
	KVEXPR_CONDITION,
	KVEXPR_FILTER,
	KVEXPR_PROJECTION,
	KVEXPR_KEY_CONDITION,
	KVEXPR_NKINDS
} KvExprKind;

typedef struct KvExprError
{
	KvExprErrorKind kind;
	int			expr;			/* KvExprKind concerned, or -1 (request-wide) */
	const char *message;		/* DynamoDB's text, NUL-terminated, in arena */
} KvExprError;

/* ----------------------------------------------------------------
 * AST
 * ----------------------------------------------------------------
 */

/* One component of a document path */
typedef enum KvExprPathElemKind
{
	KVEXPR_ELEM_NAME,			/* map key / top-level attribute name */
	KVEXPR_ELEM_INDEX			/* list index [n] */
} KvExprPathElemKind;

typedef struct KvExprPathElem
{
	KvExprPathElemKind kind;
	const char *name;			/* NAME: the attribute name, #placeholders
								 * already resolved (after validation);
								 * INDEX: the digits as written */
	size_t		name_len;
	const char *placeholder;	/* NAME written as "#x": that token, else NULL */
	uint32_t	index;			/* INDEX: zero-based position */
} KvExprPathElem;

/*
 * A document path.  elems[0] is always a NAME (the top-level attribute).  A
 * "#x" placeholder is one component even if its value contains dots.
 */
typedef struct KvExprPath
{
	int			nelems;
	KvExprPathElem *elems;
} KvExprPath;

typedef enum KvExprNodeType
{
	/* operands */
	KVEXPR_NODE_PATH,			/* document path (node->path) */
	KVEXPR_NODE_VALUE,			/* ":v" placeholder (node->value) */
	KVEXPR_NODE_FUNC,			/* function call (node->func, args) */
	KVEXPR_NODE_PLUS,			/* args[0] + args[1] (UpdateExpression) */
	KVEXPR_NODE_MINUS,			/* args[0] - args[1] (UpdateExpression) */
	/* conditions */
	KVEXPR_NODE_COMPARE,		/* args[0] <cmp> args[1] */
	KVEXPR_NODE_BETWEEN,		/* args[0] BETWEEN args[1] AND args[2] */
	KVEXPR_NODE_IN,				/* args[0] IN (args[1] .. args[nargs-1]) */
	KVEXPR_NODE_AND,			/* args[0] AND ... AND args[nargs-1], n >= 2 */
	KVEXPR_NODE_OR,				/* args[0] OR ... OR args[nargs-1], n >= 2 */
	KVEXPR_NODE_NOT				/* NOT args[0] */
} KvExprNodeType;

typedef enum KvExprCmp
{
	KVEXPR_CMP_EQ,				/* = */
	KVEXPR_CMP_NE,				/* <> */
	KVEXPR_CMP_LT,				/* < */
	KVEXPR_CMP_LE,				/* <= */
	KVEXPR_CMP_GT,				/* > */
	KVEXPR_CMP_GE				/* >= */
} KvExprCmp;

typedef enum KvExprFunc
{
	KVEXPR_FUNC_UNKNOWN = 0,	/* never in a validated AST */
	/* condition functions */
	KVEXPR_FUNC_ATTRIBUTE_EXISTS,	/* (path) -> BOOL */
	KVEXPR_FUNC_ATTRIBUTE_NOT_EXISTS,	/* (path) -> BOOL */
	KVEXPR_FUNC_ATTRIBUTE_TYPE, /* (path, :type) -> BOOL */
	KVEXPR_FUNC_BEGINS_WITH,	/* (operand, operand) -> BOOL */
	KVEXPR_FUNC_CONTAINS,		/* (operand, operand) -> BOOL */
	KVEXPR_FUNC_SIZE,			/* (operand) -> N; operand position only */
	/* update (SET value) functions */
	KVEXPR_FUNC_IF_NOT_EXISTS,	/* (path, value-operand) */
	KVEXPR_FUNC_LIST_APPEND		/* (value-operand, value-operand) */
} KvExprFunc;

/*
 * One AST node.  Conditions and operands share this type.  Invariants of a
 * validated AST (the evaluator may rely on them):
 *	- COMPARE has 2 args, BETWEEN 3, IN 2..101, AND/OR >= 2, NOT 1;
 *	  their args are operands (COMPARE/BETWEEN/IN) or conditions (AND, OR,
 *	  NOT).
 *	- FUNC: func is known, nargs is the function's arity, it sits where the
 *	  function is allowed: boolean functions only as conditions, size only
 *	  as an operand of a condition, if_not_exists / list_append only in SET
 *	  values; first argument of attribute_exists, attribute_not_exists,
 *	  attribute_type and if_not_exists is a PATH; second argument of
 *	  attribute_type is a VALUE.
 *	- Operands are PATH, VALUE, FUNC (size / if_not_exists / list_append)
 *	  or PLUS / MINUS (only at the top of a SET value).
 *	- Every placeholder is defined in the request.
 */
typedef struct KvExprNode KvExprNode;

struct KvExprNode
{
	KvExprNodeType type;
	KvExprCmp	cmp;			/* COMPARE */
	KvExprFunc	func;			/* FUNC */
	const char *func_name;		/* FUNC: name as written (NUL-terminated) */
	int			nargs;
	KvExprNode **args;
	KvExprPath	path;			/* PATH */
	const char *value;			/* VALUE: placeholder incl. ':' (NUL-term.) */
	int			location;		/* byte offset in the expression text */
	/* parser bookkeeping, not meaningful to evaluators */
	uint8_t		parens;			/* written with outer parentheses */
	uint8_t		flags;
};

typedef enum KvExprUpdateActionType
{
	KVEXPR_UPDATE_SET,
	KVEXPR_UPDATE_REMOVE,
	KVEXPR_UPDATE_ADD,
	KVEXPR_UPDATE_DELETE
} KvExprUpdateActionType;

/*
 * One action of an UpdateExpression.  value is the SET right-hand side
 * (PATH, VALUE, FUNC if_not_exists/list_append, PLUS or MINUS), the VALUE
 * node of ADD/DELETE, or NULL for REMOVE.
 */
typedef struct KvExprUpdateAction
{
	KvExprUpdateActionType type;
	KvExprPath	path;
	KvExprNode *value;
	int			section;		/* ordinal of the SET/REMOVE/... clause (1..) */
} KvExprUpdateAction;

/* A parsed expression of any kind */
typedef struct KvExpr
{
	KvExprKind	kind;
	KvExprNode *cond;			/* CONDITION, FILTER, KEY_CONDITION */
	int			nactions;		/* UPDATE: actions in source order */
	KvExprUpdateAction *actions;
	int			npaths;			/* PROJECTION: paths in source order */
	KvExprPath *paths;
} KvExpr;

/* ----------------------------------------------------------------
 * KeyConditionExpression decomposition
 * ----------------------------------------------------------------
 */

typedef enum KvExprKeyOp
{
	KVEXPR_KEY_EQ,
	KVEXPR_KEY_LT,
	KVEXPR_KEY_LE,
	KVEXPR_KEY_GT,
	KVEXPR_KEY_GE,
	KVEXPR_KEY_BETWEEN,			/* values[0] <= key <= values[1] */
	KVEXPR_KEY_BEGINS_WITH		/* begins_with(key, values[0]) */
} KvExprKeyOp;

/*
 * One condition on one key attribute, normalised so that the key is on the
 * left (":v > sk" becomes sk < :v).  The server matches attribute names to
 * the key schema: it must find an EQ on every partition key attribute
 * ("Query condition missed key schema element: <pk>"), reject anything but
 * EQ there and conditions on non-key attributes ("Query key condition not
 * supported"), and check value types against the schema.
 */
typedef struct KvExprKeyCondition
{
	const char *attribute;		/* resolved top-level attribute name */
	size_t		attribute_len;
	KvExprKeyOp op;
	int			nvalues;		/* 1, or 2 for BETWEEN */
	const char *values[2];		/* ":v" placeholders */
} KvExprKeyCondition;

/* ----------------------------------------------------------------
 * Request-level entry point
 * ----------------------------------------------------------------
 */

/* DynamoDB attribute value types, for the optional value-type callback */
typedef enum KvExprValueType
{
	KVEXPR_TYPE_UNKNOWN = 0,	/* skip type checks for this value */
	KVEXPR_TYPE_S,
	KVEXPR_TYPE_N,
	KVEXPR_TYPE_B,
	KVEXPR_TYPE_BOOL,
	KVEXPR_TYPE_NULL,
	KVEXPR_TYPE_SS,
	KVEXPR_TYPE_NS,
	KVEXPR_TYPE_BS,
	KVEXPR_TYPE_L,
	KVEXPR_TYPE_M
} KvExprValueType;

/*
 * Returns the type of ExpressionAttributeValues[placeholder]; for type S it
 * also sets *str / *len to the string (needed for attribute_type).
 */
typedef KvExprValueType (*KvExprValueTypeFn) (void *arg, const char *placeholder,
											  const char **str, size_t *len);

/* One ExpressionAttributeNames entry: "#key" -> attribute name */
typedef struct KvExprName
{
	const char *key;			/* NUL-terminated, e.g. "#n" */
	const char *name;			/* attribute name (may contain any byte) */
	size_t		name_len;
} KvExprName;

typedef struct KvExprRequest
{
	/* expression texts; NULL when the parameter is absent */
	const char *text[KVEXPR_NKINDS];
	size_t		text_len[KVEXPR_NKINDS];

	/* ExpressionAttributeNames; has_names false when the map is absent */
	bool		has_names;
	int			nnames;
	const KvExprName *names;

	/* ExpressionAttributeValues keys; has_values false when absent */
	bool		has_values;
	int			nvalues;
	const char *const *values;

	/* optional: enables the value-type checks (see file header) */
	KvExprValueTypeFn value_type;
	void	   *value_type_arg;
} KvExprRequest;

typedef struct KvExprRequestResult
{
	KvExprError error;			/* kind KVEXPR_OK on success */
	KvExpr	   *expr[KVEXPR_NKINDS];	/* validated ASTs, NULL if absent */
	int			nkeyconds;		/* decomposed KeyConditionExpression */
	KvExprKeyCondition *keyconds;
} KvExprRequestResult;

/*
 * Parse and validate all expressions of one request.  Returns the error kind
 * (also in result->error); never aborts, never leaves allocations outside
 * the arena.
 */
extern KvExprErrorKind KvExprValidateRequest(KvExprArena *arena,
											 const KvExprRequest *req,
											 KvExprRequestResult *result);

/*
 * Parse one expression without name/value resolution (syntax and the
 * placeholder-independent checks only: empty, size, syntax, reserved words,
 * list index range, function names and placement, repeated sections).  Path
 * elements keep their "#x" placeholder in name.  Useful for caching and
 * tests; KvExprValidateRequest does the full job.
 */
extern KvExprErrorKind KvExprParse(KvExprArena *arena, KvExprKind kind,
								   const char *text, size_t len,
								   KvExpr **result, KvExprError *error);

/* ----------------------------------------------------------------
 * Helpers
 * ----------------------------------------------------------------
 */

/* Parameter name used in messages: "ConditionExpression", ... */
extern const char *KvExprKindName(KvExprKind kind);

/* True if word (len bytes) is a DynamoDB reserved word (case-insensitive) */
extern bool KvExprIsReservedWord(const char *word, size_t len);

/* Symbol of a comparator ("=", "<>", ...) */
extern const char *KvExprCmpSymbol(KvExprCmp cmp);

/* DynamoDB's name of a function ("attribute_exists", ...) */
extern const char *KvExprFuncName(KvExprFunc func);

/*
 * Render an expression as text, for tests and debugging: conditions as
 * s-expressions "(AND (= [a, b] :v) (size [c]))", paths as DynamoDB prints
 * them ("[a, [1], b]").  Returns an arena string (NULL on OOM).
 */
extern char *KvExprDump(KvExprArena *arena, const KvExpr *expr);

/* Render a document path as DynamoDB does in messages: "[a, [1], b]" */
extern char *KvExprPathToString(KvExprArena *arena, const KvExprPath *path);

#endif							/* PARTKV_EXPR_H */
