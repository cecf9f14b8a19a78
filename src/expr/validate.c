/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  Static validation of parsed DynamoDB expressions and the request-level
 *	  entry point KvExprValidateRequest.
 *
 * Two passes follow DynamoDB's own structure, so that when an expression
 * has several problems the same one is reported:
 *
 *	1. KvExprCheckTree: a source-order walk right after parsing -- reserved
 *	   words used as bare names, list index range, function names and where
 *	   each function may appear, repeated update sections.
 *	2. Validation with the request's names and values: document path depth,
 *	   #name / :value definitions, operator arity, operand types, distinct
 *	   operands, IN size, the 300-operator limit; for UpdateExpression and
 *	   ProjectionExpression the overlapping / conflicting path check.
 *	   UpdateExpression and ProjectionExpression items are validated last
 *	   to first, which is the order DynamoDB uses (it decides which path is
 *	   "path one" in overlap messages).
 *
 * Then, across the request: unused names, unused values, and the shape of
 * the KeyConditionExpression.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "expr_int.h"

#define ALL_TYPES_STRING "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"

/* type sets, as bit masks over KvExprValueType */
#define TS(t)			(1u << (t))
#define TS_ALL			0x7FEu	/* S..M */
#define TS_ORDERED		(TS(KVEXPR_TYPE_N) | TS(KVEXPR_TYPE_S) | TS(KVEXPR_TYPE_B))
#define TS_STRING_BINARY (TS(KVEXPR_TYPE_S) | TS(KVEXPR_TYPE_B))
#define TS_ITERABLE		(TS(KVEXPR_TYPE_S) | TS(KVEXPR_TYPE_B) | TS(KVEXPR_TYPE_SS) | \
						 TS(KVEXPR_TYPE_NS) | TS(KVEXPR_TYPE_BS) | TS(KVEXPR_TYPE_L) | \
						 TS(KVEXPR_TYPE_M))
#define TS_NUMBER		TS(KVEXPR_TYPE_N)
#define TS_LIST			TS(KVEXPR_TYPE_L)
#define TS_SETS			(TS(KVEXPR_TYPE_SS) | TS(KVEXPR_TYPE_NS) | TS(KVEXPR_TYPE_BS))

static const char *const type_symbols[] = {
	"?", "S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"
};

/* words DynamoDB uses for ADD / DELETE operand type errors */
static const char *const type_words[] = {
	"?", "STRING", "NUMBER", "BINARY", "BOOLEAN", "NULL", "SS", "NS", "BS", "LIST", "MAP"
};

/* A sorted view of the request's placeholder keys, with "used" marks */
typedef struct KeySet
{
	int			n;
	const char **keys;			/* in caller order */
	int		   *order;			/* indexes sorted by key */
	bool	   *used;
	const KvExprName *names;	/* ExpressionAttributeNames, or NULL */
} KeySet;

/* State of the validation of one expression */
typedef struct ValState
{
	KvExprErrState *es;
	KvExprArena *arena;
	const KvExprRequest *req;	/* NULL: no resolution (KvExprParse) */
	KeySet	   *names;
	KeySet	   *values;
	int			opcount;
} ValState;

/* Overlap-detection tree of document paths */
typedef struct PathTree PathTree;
struct PathTree
{
	const KvExprPathElem *elem;
	PathTree   *first;
	PathTree   *last;
	PathTree   *next;
};

/* ----------------------------------------------------------------
 * Small helpers
 * ----------------------------------------------------------------
 */

/*
 * KvExprKindName
 *		DynamoDB's name of the request parameter.
 */
const char *
KvExprKindName(KvExprKind kind)
{
	switch (kind)
	{
		case KVEXPR_UPDATE:
			return "UpdateExpression";
		case KVEXPR_CONDITION:
			return "ConditionExpression";
		case KVEXPR_FILTER:
			return "FilterExpression";
		case KVEXPR_PROJECTION:
			return "ProjectionExpression";
		case KVEXPR_KEY_CONDITION:
			return "KeyConditionExpression";
		default:
			return "Expression";
	}
}

/*
 * KvExprCmpSymbol
 *		The comparator as written.
 */
const char *
KvExprCmpSymbol(KvExprCmp cmp)
{
	static const char *const sym[] = {"=", "<>", "<", "<=", ">", ">="};

	return ((unsigned) cmp < 6) ? sym[cmp] : "?";
}

/*
 * KvExprFuncName
 *		The function name as DynamoDB spells it.
 */
const char *
KvExprFuncName(KvExprFunc func)
{
	switch (func)
	{
		case KVEXPR_FUNC_ATTRIBUTE_EXISTS:
			return "attribute_exists";
		case KVEXPR_FUNC_ATTRIBUTE_NOT_EXISTS:
			return "attribute_not_exists";
		case KVEXPR_FUNC_ATTRIBUTE_TYPE:
			return "attribute_type";
		case KVEXPR_FUNC_BEGINS_WITH:
			return "begins_with";
		case KVEXPR_FUNC_CONTAINS:
			return "contains";
		case KVEXPR_FUNC_SIZE:
			return "size";
		case KVEXPR_FUNC_IF_NOT_EXISTS:
			return "if_not_exists";
		case KVEXPR_FUNC_LIST_APPEND:
			return "list_append";
		default:
			return "unknown";
	}
}

/*
 * OperatorName
 *		How DynamoDB names an operator node in messages.
 */
static const char *
OperatorName(const KvExprNode *n)
{
	switch (n->type)
	{
		case KVEXPR_NODE_COMPARE:
			return KvExprCmpSymbol(n->cmp);
		case KVEXPR_NODE_BETWEEN:
			return "BETWEEN";
		case KVEXPR_NODE_IN:
			return "IN";
		case KVEXPR_NODE_AND:
			return "AND";
		case KVEXPR_NODE_OR:
			return "OR";
		case KVEXPR_NODE_NOT:
			return "NOT";
		case KVEXPR_NODE_PLUS:
			return "+";
		case KVEXPR_NODE_MINUS:
			return "-";
		case KVEXPR_NODE_FUNC:
			return n->func_name;
		default:
			return "?";
	}
}

/*
 * ErrorV
 *		Concatenate the NULL-terminated list of strings into the error
 *		message.  Always returns false.
 */
static bool
ErrorV(ValState *vs, KvExprErrorKind kind, const char *first,...)
{
	KvExprBuf	buf;
	va_list		ap;
	const char *s;

	KvExprBufInit(&buf, vs->arena);
	va_start(ap, first);
	for (s = first; s != NULL; s = va_arg(ap, const char *))
		KvExprBufAppendStr(&buf, s);
	va_end(ap);
	KvExprSetError(vs->es, kind, buf.data);
	return false;
}

/*
 * Error2 / Error3
 *		Build "<a><b>[<c>]" in the arena and record it as the error.
 */
static bool
Error3(ValState *vs, KvExprErrorKind kind, const char *a, const char *b, const char *c)
{
	KvExprBuf	buf;

	KvExprBufInit(&buf, vs->arena);
	KvExprBufAppendStr(&buf, a);
	if (b)
		KvExprBufAppendStr(&buf, b);
	if (c)
		KvExprBufAppendStr(&buf, c);
	KvExprSetError(vs->es, kind, buf.data);
	return false;
}

static bool
Error2(ValState *vs, KvExprErrorKind kind, const char *a, const char *b)
{
	return Error3(vs, kind, a, b, NULL);
}

/*
 * ErrorInt
 *		Record "<prefix><number>".
 */
static bool
ErrorInt(ValState *vs, KvExprErrorKind kind, const char *prefix, long long v)
{
	KvExprBuf	buf;

	KvExprBufInit(&buf, vs->arena);
	KvExprBufAppendStr(&buf, prefix);
	KvExprBufAppendInt(&buf, v);
	KvExprSetError(vs->es, kind, buf.data);
	return false;
}

/*
 * AppendPath
 *		Append a path the way DynamoDB prints it: [a, [1], b].
 */
static void
AppendPath(KvExprBuf *buf, const KvExprPathElem *elems, int n)
{
	KvExprBufAppendStr(buf, "[");
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			KvExprBufAppendStr(buf, ", ");
		if (elems[i].kind == KVEXPR_ELEM_INDEX)
		{
			KvExprBufAppendStr(buf, "[");
			KvExprBufAppendInt(buf, (long long) elems[i].index);
			KvExprBufAppendStr(buf, "]");
		}
		else
			KvExprBufAppend(buf, elems[i].name, elems[i].name_len);
	}
	KvExprBufAppendStr(buf, "]");
}

/*
 * KvExprPathToString
 *		Public wrapper of AppendPath.
 */
char *
KvExprPathToString(KvExprArena *arena, const KvExprPath *path)
{
	KvExprBuf	buf;

	KvExprBufInit(&buf, arena);
	AppendPath(&buf, path->elems, path->nelems);
	return buf.data;
}

/* ----------------------------------------------------------------
 * Pass 1: the source-order tree walk
 * ----------------------------------------------------------------
 */

typedef struct WalkState
{
	ValState   *vs;
	bool		update;			/* UPDATE rules, else CONDITION rules */
	int			nesting;
} WalkState;

/*
 * IndexInRange
 *		DynamoDB parses list indexes as a Java int.
 */
static bool
IndexInRange(const KvExprPathElem *e)
{
	size_t		i = 0;
	uint64_t	v = 0;

	while (i < e->name_len && e->name[i] == '0')
		i++;
	if (e->name_len - i > 10)
		return false;
	for (; i < e->name_len; i++)
		v = v * 10 + (uint64_t) (e->name[i] - '0');
	return v <= 2147483647u;
}

/*
 * WalkPath
 *		Reserved words among the bare names; list index range.
 */
static bool
WalkPath(WalkState *ws, const KvExprPath *path)
{
	for (int i = 0; i < path->nelems; i++)
	{
		const KvExprPathElem *e = &path->elems[i];

		if (e->kind == KVEXPR_ELEM_INDEX)
		{
			if (!IndexInRange(e))
				return Error3(ws->vs, KVEXPR_ERROR_VALIDATION,
							  "List index is not within the allowable range; index: [",
							  e->name, "]");
		}
		else if (e->placeholder == NULL &&
				 KvExprIsReservedWord(e->name, e->name_len))
			return Error2(ws->vs, KVEXPR_ERROR_VALIDATION,
						  "Attribute name is a reserved keyword; reserved keyword: ",
						  e->name);
	}
	return true;
}

/*
 * WalkFunction
 *		Is this function known, allowed in this kind of expression, and
 *		allowed at this nesting level?
 */
static bool
WalkFunction(WalkState *ws, const KvExprNode *n)
{
	bool		is_value_func = n->func == KVEXPR_FUNC_IF_NOT_EXISTS ||
		n->func == KVEXPR_FUNC_LIST_APPEND;

	if (n->func == KVEXPR_FUNC_UNKNOWN)
		return Error2(ws->vs, KVEXPR_ERROR_VALIDATION,
					  "Invalid function name; function: ", n->func_name);
	if (ws->update)
	{
		if (!is_value_func)
			return Error2(ws->vs, KVEXPR_ERROR_VALIDATION,
						  "The function is not allowed in an update expression; function: ",
						  n->func_name);
		if (ws->nesting > 0 && n->func != KVEXPR_FUNC_IF_NOT_EXISTS)
			goto misplaced;
	}
	else
	{
		if (is_value_func)
			return Error2(ws->vs, KVEXPR_ERROR_VALIDATION,
						  "The function is not allowed in a condition expression; function: ",
						  n->func_name);
		if (ws->nesting == 0 && n->func == KVEXPR_FUNC_SIZE)
			goto misplaced;
		if (ws->nesting > 0 && n->func != KVEXPR_FUNC_SIZE)
			goto misplaced;
	}
	return true;

misplaced:
	return Error2(ws->vs, KVEXPR_ERROR_VALIDATION,
				  "The function is not allowed to be used this way in an expression; function: ",
				  n->func_name);
}

/*
 * WalkNode
 *		Pre/post-order walk mirroring DynamoDB's parse-tree listener.
 */
static bool
WalkNode(WalkState *ws, const KvExprNode *n)
{
	bool		nests;

	switch (n->type)
	{
		case KVEXPR_NODE_PATH:
			return WalkPath(ws, &n->path);
		case KVEXPR_NODE_VALUE:
			return true;
		case KVEXPR_NODE_FUNC:
			if (!WalkFunction(ws, n))
				return false;
			nests = true;
			break;
		case KVEXPR_NODE_COMPARE:
		case KVEXPR_NODE_BETWEEN:
		case KVEXPR_NODE_IN:
		case KVEXPR_NODE_PLUS:
		case KVEXPR_NODE_MINUS:
			nests = true;
			break;
		default:
			nests = false;
			break;
	}
	if (nests)
		ws->nesting++;
	for (int i = 0; i < n->nargs; i++)
	{
		if (!WalkNode(ws, n->args[i]))
			return false;
	}
	if (nests)
		ws->nesting--;
	return true;
}

/*
 * KvExprCheckTree
 *		Pass 1 over a freshly parsed expression.
 */
bool
KvExprCheckTree(KvExprErrState *es, const KvExpr *expr)
{
	ValState	vs;
	WalkState	ws;

	memset(&vs, 0, sizeof(vs));
	vs.es = es;
	vs.arena = es->arena;
	ws.vs = &vs;
	ws.update = expr->kind == KVEXPR_UPDATE;
	ws.nesting = 0;

	switch (expr->kind)
	{
		case KVEXPR_UPDATE:
			{
				bool		seen[4] = {false, false, false, false};
				static const char *const names[4] = {"SET", "REMOVE", "ADD", "DELETE"};

				for (int i = 0; i < expr->nactions; i++)
				{
					const KvExprUpdateAction *a = &expr->actions[i];

					if (!WalkPath(&ws, &a->path))
						return false;
					if (a->value && !WalkNode(&ws, a->value))
						return false;
					/* end of a section: DynamoDB checks repeats on exit */
					if (i + 1 == expr->nactions || expr->actions[i + 1].section != a->section)
					{
						if (seen[a->type])
							return Error3(&vs, KVEXPR_ERROR_VALIDATION, "The \"",
										  names[a->type],
										  "\" section can only be used once in an update expression;");
						seen[a->type] = true;
					}
				}
				return true;
			}
		case KVEXPR_PROJECTION:
			for (int i = 0; i < expr->npaths; i++)
			{
				if (!WalkPath(&ws, &expr->paths[i]))
					return false;
			}
			return true;
		default:
			return WalkNode(&ws, expr->cond);
	}
}

/* ----------------------------------------------------------------
 * Pass 2: validation with names and values
 * ----------------------------------------------------------------
 */

/*
 * KeySetFind
 *		Binary search; returns the caller-order index or -1.
 */
static int
KeySetFind(const KeySet *ks, const char *key)
{
	int			lo = 0;
	int			hi = ks ? ks->n : 0;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			cmp = strcmp(key, ks->keys[ks->order[mid]]);

		if (cmp == 0)
			return ks->order[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/*
 * ResolvePath
 *		DynamoDB's validateDocPath: depth limit, then each placeholder in
 *		order (a ":v" component is refused, a "#n" must be defined).
 */
static bool
ResolvePath(ValState *vs, KvExprPath *path)
{
	if (path->nelems > KVEXPR_MAX_PATH_DEPTH)
		return ErrorInt(vs, KVEXPR_ERROR_LIMIT,
						"The document path has too many nesting levels; nesting levels: ",
						path->nelems);
	for (int i = 0; i < path->nelems; i++)
	{
		KvExprPathElem *e = &path->elems[i];
		int			k;

		if (e->kind != KVEXPR_ELEM_NAME || e->placeholder == NULL)
			continue;
		if (e->placeholder[0] == ':')
			return Error2(vs, KVEXPR_ERROR_VALIDATION,
						  "The document path cannot contain attribute value parameters; attribute value: ",
						  e->placeholder);
		if (vs->req == NULL)
			continue;
		k = KeySetFind(vs->names, e->placeholder);
		if (k < 0)
			return Error2(vs, KVEXPR_ERROR_VALIDATION,
						  "An expression attribute name used in the document path is not defined; attribute name: ",
						  e->placeholder);
		vs->names->used[k] = true;
		e->name = vs->names->names[k].name;
		e->name_len = vs->names->names[k].name_len;
	}
	return true;
}

/*
 * ValueType
 *		Type of a ":v" via the caller's callback, or UNKNOWN.
 */
static KvExprValueType
ValueType(ValState *vs, const char *placeholder, const char **str, size_t *len)
{
	KvExprValueType t;

	*str = NULL;
	*len = 0;
	if (vs->req == NULL || vs->req->value_type == NULL)
		return KVEXPR_TYPE_UNKNOWN;
	t = vs->req->value_type(vs->req->value_type_arg, placeholder, str, len);
	if ((unsigned) t > KVEXPR_TYPE_M)
		t = KVEXPR_TYPE_UNKNOWN;
	return t;
}

/*
 * ReturnTypes
 *		Possible result types of an operand node (for operand type checks),
 *		and the symbol DynamoDB prints for them.  Returns 0 when unknown.
 */
static unsigned
ReturnTypes(ValState *vs, const KvExprNode *n, const char **symbol)
{
	switch (n->type)
	{
		case KVEXPR_NODE_PATH:
			*symbol = ALL_TYPES_STRING;
			return TS_ALL;
		case KVEXPR_NODE_VALUE:
			{
				const char *s;
				size_t		l;
				KvExprValueType t = ValueType(vs, n->value, &s, &l);

				if (t == KVEXPR_TYPE_UNKNOWN)
					return 0;
				*symbol = type_symbols[t];
				return TS(t);
			}
		case KVEXPR_NODE_FUNC:
			if (n->func == KVEXPR_FUNC_SIZE)
			{
				*symbol = "N";
				return TS_NUMBER;
			}
			if (n->func == KVEXPR_FUNC_LIST_APPEND)
			{
				*symbol = "L";
				return TS_LIST;
			}
			if (n->func == KVEXPR_FUNC_IF_NOT_EXISTS)
			{
				*symbol = ALL_TYPES_STRING;
				return TS_ALL;
			}
			*symbol = "BOOL";
			return TS(KVEXPR_TYPE_BOOL);
		case KVEXPR_NODE_PLUS:
		case KVEXPR_NODE_MINUS:
			*symbol = "N";
			return TS_NUMBER;
		default:
			*symbol = "BOOL";
			return TS(KVEXPR_TYPE_BOOL);
	}
}

/*
 * OperandTypes
 *		Types an operator accepts for its operands; 0 means "no check".
 */
static unsigned
OperandTypes(const KvExprNode *n)
{
	switch (n->type)
	{
		case KVEXPR_NODE_COMPARE:
			if (n->cmp == KVEXPR_CMP_EQ || n->cmp == KVEXPR_CMP_NE)
				return TS_ALL;
			return TS_ORDERED;
		case KVEXPR_NODE_BETWEEN:
			return TS_ORDERED;
		case KVEXPR_NODE_PLUS:
		case KVEXPR_NODE_MINUS:
			return TS_NUMBER;
		case KVEXPR_NODE_FUNC:
			switch (n->func)
			{
				case KVEXPR_FUNC_BEGINS_WITH:
					return TS_STRING_BINARY;
				case KVEXPR_FUNC_SIZE:
					return TS_ITERABLE;
				case KVEXPR_FUNC_LIST_APPEND:
					return TS_LIST;
				default:
					return TS_ALL;
			}
		default:
			return 0;
	}
}

/*
 * FuncArity
 *		Number of operands of a known function.
 */
static int
FuncArity(KvExprFunc f)
{
	switch (f)
	{
		case KVEXPR_FUNC_ATTRIBUTE_EXISTS:
		case KVEXPR_FUNC_ATTRIBUTE_NOT_EXISTS:
		case KVEXPR_FUNC_SIZE:
			return 1;
		default:
			return 2;
	}
}

/*
 * PathsEqual
 *		Same resolved document path?
 */
static bool
PathsEqual(const KvExprPath *a, const KvExprPath *b)
{
	if (a->nelems != b->nelems)
		return false;
	for (int i = 0; i < a->nelems; i++)
	{
		const KvExprPathElem *x = &a->elems[i];
		const KvExprPathElem *y = &b->elems[i];

		if (x->kind != y->kind)
			return false;
		if (x->kind == KVEXPR_ELEM_INDEX)
		{
			if (x->index != y->index)
				return false;
		}
		else if (x->name_len != y->name_len ||
				 (x->name_len > 0 && memcmp(x->name, y->name, x->name_len) != 0))
			return false;
	}
	return true;
}

/*
 * ValidateOperator
 *		DynamoDB's validateOperator for one operator node whose operands are
 *		already validated: arity, operand types, distinct operands, then the
 *		operator's own rules.
 */
static bool
ValidateOperator(ValState *vs, const KvExprNode *n)
{
	const char *name = OperatorName(n);
	unsigned	accepted = OperandTypes(n);

	if (n->type == KVEXPR_NODE_FUNC && n->nargs != FuncArity(n->func))
	{
		KvExprBuf	buf;

		KvExprBufInit(&buf, vs->arena);
		KvExprBufAppendStr(&buf, "Incorrect number of operands for operator or function; operator or function: ");
		KvExprBufAppendStr(&buf, name);
		KvExprBufAppendStr(&buf, ", number of operands: ");
		KvExprBufAppendInt(&buf, n->nargs);
		KvExprSetError(vs->es, KVEXPR_ERROR_VALIDATION, buf.data);
		return false;
	}

	/* operand types (constants only when the caller told us their types) */
	if (accepted != 0)
	{
		for (int i = 0; i < n->nargs; i++)
		{
			const char *symbol = NULL;
			unsigned	types = ReturnTypes(vs, n->args[i], &symbol);

			if (types != 0 && (types & accepted) == 0)
				return ErrorV(vs, KVEXPR_ERROR_VALIDATION,
							  "Incorrect operand type for operator or function; operator or function: ",
							  name, ", operand type: ", symbol, NULL);
		}
	}

	/* the first operand must not reappear among the others */
	if (n->nargs > 1 && n->args[0]->type == KVEXPR_NODE_PATH &&
		(n->type == KVEXPR_NODE_COMPARE || n->type == KVEXPR_NODE_BETWEEN ||
		 n->type == KVEXPR_NODE_IN ||
		 (n->type == KVEXPR_NODE_FUNC &&
		  (n->func == KVEXPR_FUNC_BEGINS_WITH || n->func == KVEXPR_FUNC_CONTAINS ||
		   n->func == KVEXPR_FUNC_ATTRIBUTE_TYPE))))
	{
		for (int i = 1; i < n->nargs; i++)
		{
			if (n->args[i]->type == KVEXPR_NODE_PATH &&
				PathsEqual(&n->args[0]->path, &n->args[i]->path))
			{
				KvExprBuf	buf;

				KvExprBufInit(&buf, vs->arena);
				KvExprBufAppendStr(&buf, "The first operand must be distinct from the remaining operands for this operator or function; operator: ");
				KvExprBufAppendStr(&buf, name);
				KvExprBufAppendStr(&buf, ", first operand: ");
				AppendPath(&buf, n->args[0]->path.elems, n->args[0]->path.nelems);
				KvExprSetError(vs->es, KVEXPR_ERROR_VALIDATION, buf.data);
				return false;
			}
		}
	}

	if (n->type == KVEXPR_NODE_IN && n->nargs - 1 > KVEXPR_MAX_IN_OPERANDS)
		return ErrorInt(vs, KVEXPR_ERROR_LIMIT,
						"The IN operator is provided with too many operands; number of operands: ",
						n->nargs - 1);

	if (n->type != KVEXPR_NODE_FUNC)
		return true;
	switch (n->func)
	{
		case KVEXPR_FUNC_ATTRIBUTE_EXISTS:
		case KVEXPR_FUNC_ATTRIBUTE_NOT_EXISTS:
		case KVEXPR_FUNC_IF_NOT_EXISTS:
			if (n->args[0]->type != KVEXPR_NODE_PATH)
				return Error2(vs, KVEXPR_ERROR_VALIDATION,
							  "Operator or function requires a document path; operator or function: ",
							  name);
			break;
		case KVEXPR_FUNC_ATTRIBUTE_TYPE:
			{
				const KvExprNode *t = n->args[1];
				const char *symbol = NULL;
				const char *str;
				size_t		len;
				KvExprValueType vt;
				static const char *const valid[] = {
					"S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"
				};
				bool		ok = false;

				if (t->type != KVEXPR_NODE_VALUE)
				{
					if (ReturnTypes(vs, t, &symbol) == 0)
						symbol = ALL_TYPES_STRING;
					return ErrorV(vs, KVEXPR_ERROR_VALIDATION,
								  "Incorrect operand type for operator or function; operator or function: ",
								  name, ", operand type: ", symbol, NULL);
				}
				vt = ValueType(vs, t->value, &str, &len);
				if (vt == KVEXPR_TYPE_UNKNOWN)
					break;
				if (vt != KVEXPR_TYPE_S)
					return ErrorV(vs, KVEXPR_ERROR_VALIDATION,
								  "Incorrect operand type for operator or function; operator or function: ",
								  name, ", operand type: ", type_symbols[vt], NULL);
				for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
				{
					if (str != NULL && strlen(valid[i]) == len &&
						memcmp(valid[i], str, len) == 0)
						ok = true;
				}
				if (!ok)
				{
					KvExprBuf	buf;

					KvExprBufInit(&buf, vs->arena);
					KvExprBufAppendStr(&buf, "Invalid attribute type name found; type: ");
					if (str != NULL)
						KvExprBufAppend(&buf, str, len);
					KvExprBufAppendStr(&buf, ", valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}");
					KvExprSetError(vs->es, KVEXPR_ERROR_VALIDATION, buf.data);
					return false;
				}
				break;
			}
		default:
			break;
	}
	return true;
}

/*
 * CountOperators
 *		Add to the expression's operator count; DynamoDB allows 300.
 */
static bool
CountOperators(ValState *vs, int n)
{
	for (int i = 0; i < n; i++)
	{
		vs->opcount++;
		if (vs->opcount > KVEXPR_MAX_OPERATORS)
			return ErrorInt(vs, KVEXPR_ERROR_LIMIT,
							"The expression contains too many operators; operator count: ",
							vs->opcount);
	}
	return true;
}

/*
 * ValidateNode
 *		Post-order validation of an operand or condition tree.
 */
static bool
ValidateNode(ValState *vs, KvExprNode *n)
{
	switch (n->type)
	{
		case KVEXPR_NODE_PATH:
			return ResolvePath(vs, &n->path);
		case KVEXPR_NODE_VALUE:
			if (vs->req != NULL)
			{
				int			k = KeySetFind(vs->values, n->value);

				if (k < 0)
					return Error2(vs, KVEXPR_ERROR_VALIDATION,
								  "An expression attribute value used in expression is not defined; attribute value: ",
								  n->value);
				vs->values->used[k] = true;
			}
			return true;
		default:
			break;
	}
	for (int i = 0; i < n->nargs; i++)
	{
		if (!ValidateNode(vs, n->args[i]))
			return false;
	}
	if (!ValidateOperator(vs, n))
		return false;
	return CountOperators(vs, (n->type == KVEXPR_NODE_AND || n->type == KVEXPR_NODE_OR) ?
						  n->nargs - 1 : 1);
}

/*
 * ElemsEqual
 *		Same path component?
 */
static bool
ElemsEqual(const KvExprPathElem *x, const KvExprPathElem *y)
{
	if (x->kind != y->kind)
		return false;
	if (x->kind == KVEXPR_ELEM_INDEX)
		return x->index == y->index;
	return x->name_len == y->name_len &&
		(x->name_len == 0 || memcmp(x->name, y->name, x->name_len) == 0);
}

/*
 * PathConflictError
 *		"Two document paths overlap/conflict ...": path one is the path being
 *		added, path two the first recorded path through the clash point.
 */
static bool
PathConflictError(ValState *vs, bool overlap, const KvExprPath *path, int depth,
				  const PathTree *from)
{
	KvExprBuf	buf;

	KvExprBufInit(&buf, vs->arena);
	KvExprBufAppendStr(&buf, overlap ?
					   "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: " :
					   "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: ");
	AppendPath(&buf, path->elems, path->nelems);
	KvExprBufAppendStr(&buf, ", path two: [");
	for (int i = 0; i < depth; i++)
	{
		if (i > 0)
			KvExprBufAppendStr(&buf, ", ");
		if (path->elems[i].kind == KVEXPR_ELEM_INDEX)
		{
			KvExprBufAppendStr(&buf, "[");
			KvExprBufAppendInt(&buf, (long long) path->elems[i].index);
			KvExprBufAppendStr(&buf, "]");
		}
		else
			KvExprBufAppend(&buf, path->elems[i].name, path->elems[i].name_len);
	}
	for (const PathTree *t = from; t != NULL; t = t->first)
	{
		if (depth > 0 || t != from)
			KvExprBufAppendStr(&buf, ", ");
		if (t->elem->kind == KVEXPR_ELEM_INDEX)
		{
			KvExprBufAppendStr(&buf, "[");
			KvExprBufAppendInt(&buf, (long long) t->elem->index);
			KvExprBufAppendStr(&buf, "]");
		}
		else
			KvExprBufAppend(&buf, t->elem->name, t->elem->name_len);
	}
	KvExprBufAppendStr(&buf, "]");
	KvExprSetError(vs->es, KVEXPR_ERROR_VALIDATION, buf.data);
	return false;
}

/*
 * InsertPath
 *		Add a resolved path to the tree of paths of one update/projection
 *		expression, rejecting a path that equals, contains or is contained
 *		in a previous one (overlap) or that uses '.' where a previous one
 *		used '[n]' at the same place (conflict).
 */
static bool
InsertPath(ValState *vs, PathTree *root, const KvExprPath *path)
{
	PathTree   *node = root;

	for (int d = 0; d < path->nelems; d++)
	{
		const KvExprPathElem *e = &path->elems[d];
		PathTree   *child;

		for (child = node->first; child != NULL; child = child->next)
		{
			if (ElemsEqual(child->elem, e))
				break;
		}
		if (child == NULL)
		{
			if (node->first != NULL && node->first->elem->kind != e->kind)
				return PathConflictError(vs, false, path, d, node->first);
			/* add the rest of the path as a chain */
			for (; d < path->nelems; d++)
			{
				PathTree   *t = KvExprArenaAlloc(vs->arena, sizeof(PathTree));

				if (t == NULL)
				{
					KvExprSetError(vs->es, KVEXPR_ERROR_OUT_OF_MEMORY, NULL);
					return false;
				}
				t->elem = &path->elems[d];
				if (node->last)
					node->last->next = t;
				else
					node->first = t;
				node->last = t;
				node = t;
			}
			return true;
		}
		if (child->first == NULL || d == path->nelems - 1)
			return PathConflictError(vs, true, path, d, child);
		node = child;
	}
	return true;
}

/*
 * ValidateExpr
 *		Pass 2 for one parsed expression.
 */
static bool
ValidateExpr(ValState *vs, KvExpr *expr)
{
	PathTree	root;

	memset(&root, 0, sizeof(root));
	switch (expr->kind)
	{
		case KVEXPR_UPDATE:
			for (int i = expr->nactions - 1; i >= 0; i--)
			{
				if (!ResolvePath(vs, &expr->actions[i].path) ||
					!InsertPath(vs, &root, &expr->actions[i].path))
					return false;
			}
			for (int i = expr->nactions - 1; i >= 0; i--)
			{
				KvExprUpdateAction *a = &expr->actions[i];
				const char *str;
				size_t		len;
				KvExprValueType t;
				unsigned	allowed;

				if (a->value == NULL)
					continue;
				if (!ValidateNode(vs, a->value))
					return false;
				if (a->type != KVEXPR_UPDATE_ADD && a->type != KVEXPR_UPDATE_DELETE)
					continue;
				t = ValueType(vs, a->value->value, &str, &len);
				allowed = a->type == KVEXPR_UPDATE_ADD ? (TS_NUMBER | TS_SETS) : TS_SETS;
				if (t != KVEXPR_TYPE_UNKNOWN && (TS(t) & allowed) == 0)
					return ErrorV(vs, KVEXPR_ERROR_VALIDATION,
								  "Incorrect operand type for operator or function; operator: ",
								  a->type == KVEXPR_UPDATE_ADD ? "ADD" : "DELETE",
								  ", operand type: ", type_words[t], NULL);
			}
			return true;
		case KVEXPR_PROJECTION:
			for (int i = expr->npaths - 1; i >= 0; i--)
			{
				if (!ResolvePath(vs, &expr->paths[i]) ||
					!InsertPath(vs, &root, &expr->paths[i]))
					return false;
			}
			return true;
		default:
			return ValidateNode(vs, expr->cond);
	}
}

/* ----------------------------------------------------------------
 * Entry points
 * ----------------------------------------------------------------
 */

/*
 * ParseOne
 *		Empty and size checks, parse, pass 1.  Errors without the
 *		"Invalid X: " prefix go to es.
 */
static KvExpr *
ParseOne(KvExprErrState *es, const char *text, size_t len)
{
	KvExpr	   *expr = NULL;

	if (len == 0)
	{
		KvExprSetError(es, KVEXPR_ERROR_VALIDATION, "The expression can not be empty;");
		return NULL;
	}
	if (len > KVEXPR_MAX_EXPRESSION_BYTES)
	{
		KvExprBuf	buf;

		KvExprBufInit(&buf, es->arena);
		KvExprBufAppendStr(&buf, "Expression size has exceeded the maximum allowed size;");
		/* observed: only these two kinds report the size */
		if (es->kind == KVEXPR_CONDITION || es->kind == KVEXPR_FILTER)
		{
			KvExprBufAppendStr(&buf, " expression size: ");
			KvExprBufAppendInt(&buf, (long long) len);
		}
		KvExprSetError(es, KVEXPR_ERROR_LIMIT, buf.data);
		return NULL;
	}
	if (!KvExprParseText(es, text, (int) len, &expr))
		return NULL;
	if (!KvExprCheckTree(es, expr))
		return NULL;
	return expr;
}

/*
 * PrefixedError
 *		Copy es into error, prefixing "Invalid <Param>: ".
 */
static void
PrefixedError(KvExprArena *arena, const KvExprErrState *es, KvExprError *error)
{
	KvExprBuf	buf;

	error->kind = es->err;
	error->expr = es->kind;
	if (es->err == KVEXPR_ERROR_OUT_OF_MEMORY)
	{
		error->message = "out of memory";
		return;
	}
	KvExprBufInit(&buf, arena);
	KvExprBufAppendStr(&buf, "Invalid ");
	KvExprBufAppendStr(&buf, KvExprKindName(es->kind));
	KvExprBufAppendStr(&buf, ": ");
	KvExprBufAppendStr(&buf, es->message);
	if (buf.data == NULL)
	{
		error->kind = KVEXPR_ERROR_OUT_OF_MEMORY;
		error->message = "out of memory";
		return;
	}
	error->message = buf.data;
}

/*
 * KvExprParse
 *		Parse one expression (no name/value resolution).
 */
KvExprErrorKind
KvExprParse(KvExprArena *arena, KvExprKind kind, const char *text, size_t len,
			KvExpr **result, KvExprError *error)
{
	KvExprErrState es;
	KvExpr	   *expr;
	ValState	vs;

	memset(&es, 0, sizeof(es));
	es.arena = arena;
	es.kind = kind;
	error->kind = KVEXPR_OK;
	error->expr = -1;
	error->message = NULL;
	*result = NULL;

	expr = ParseOne(&es, text, len);
	if (expr != NULL)
	{
		/* placeholder-independent part of pass 2: path depth, ':v' in paths */
		memset(&vs, 0, sizeof(vs));
		vs.es = &es;
		vs.arena = arena;
		if (expr->kind == KVEXPR_UPDATE)
		{
			for (int i = expr->nactions - 1; i >= 0 && es.err == KVEXPR_OK; i--)
				ResolvePath(&vs, &expr->actions[i].path);
		}
		else if (expr->kind == KVEXPR_PROJECTION)
		{
			for (int i = expr->npaths - 1; i >= 0 && es.err == KVEXPR_OK; i--)
				ResolvePath(&vs, &expr->paths[i]);
		}
	}
	if (es.err != KVEXPR_OK)
	{
		PrefixedError(arena, &es, error);
		return error->kind;
	}
	*result = expr;
	return KVEXPR_OK;
}

/*
 * CompareKeys
 *		qsort_r-free sorting: insertion into a sorted index (n is small in
 *		practice, but use a merge sort to stay O(n log n) on hostile input).
 */
static void
SortIndexes(int *order, int *tmp, int n, const char **keys)
{
	if (n < 2)
		return;
	SortIndexes(order, tmp, n / 2, keys);
	SortIndexes(order + n / 2, tmp, n - n / 2, keys);
	{
		int			i = 0,
					j = n / 2,
					k = 0;

		while (i < n / 2 && j < n)
			tmp[k++] = strcmp(keys[order[i]], keys[order[j]]) <= 0 ? order[i++] : order[j++];
		while (i < n / 2)
			tmp[k++] = order[i++];
		while (j < n)
			tmp[k++] = order[j++];
		memcpy(order, tmp, sizeof(int) * (size_t) n);
	}
}

/*
 * CheckMapKey
 *		DynamoDB's checks on one ExpressionAttributeNames / Values key.
 *		Returns the error message (without the map prefix) or NULL.
 */
static const char *
CheckMapKey(KvExprArena *arena, const char *key, char sigil, bool names)
{
	size_t		len = strlen(key);
	KvExprBuf	buf;

	if (len == 0)
		return "The expression attribute map contains an empty key;";
	if (len > KVEXPR_MAX_PLACEHOLDER_BYTES)
	{
		KvExprBufInit(&buf, arena);
		KvExprBufAppendStr(&buf, "The expression attribute map contains a key that is too long;");
		if (names)
		{
			KvExprBufAppendStr(&buf, " size of key: ");
			KvExprBufAppendInt(&buf, (long long) len);
		}
		return buf.data ? buf.data : "out of memory";
	}
	if (key[0] == sigil && len > 1)
	{
		size_t		i;

		for (i = 1; i < len; i++)
		{
			unsigned char c = (unsigned char) key[i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				  (c >= '0' && c <= '9') || c == '_'))
				break;
		}
		if (i == len)
			return NULL;
	}
	KvExprBufInit(&buf, arena);
	KvExprBufAppendStr(&buf, "Syntax error; key: \"");
	KvExprBufAppendStr(&buf, key);
	KvExprBufAppendStr(&buf, "\"");
	return buf.data ? buf.data : "out of memory";
}

/*
 * BuildKeySet
 *		Validate the keys of one map and index them for lookups.  Returns
 *		false with result->error set on a bad map.
 */
static bool
BuildKeySet(KvExprArena *arena, KeySet *ks, bool present, int n,
			const char *const *keys, const KvExprName *names,
			KvExprRequestResult *result)
{
	const char *mapname = names ? "ExpressionAttributeNames" : "ExpressionAttributeValues";
	int		   *tmp;

	memset(ks, 0, sizeof(*ks));
	if (!present)
		return true;
	if (n <= 0)
	{
		KvExprBuf	buf;

		KvExprBufInit(&buf, arena);
		KvExprBufAppendStr(&buf, mapname);
		KvExprBufAppendStr(&buf, " must not be empty");
		result->error.kind = KVEXPR_ERROR_VALIDATION;
		result->error.message = buf.data;
		return false;
	}
	ks->n = n;
	ks->names = names;
	ks->keys = KvExprArenaAlloc(arena, sizeof(char *) * (size_t) n);
	ks->order = KvExprArenaAlloc(arena, sizeof(int) * (size_t) n);
	ks->used = KvExprArenaAlloc(arena, sizeof(bool) * (size_t) n);
	tmp = KvExprArenaAlloc(arena, sizeof(int) * (size_t) n);
	if (!ks->keys || !ks->order || !ks->used || !tmp)
		return false;
	for (int i = 0; i < n; i++)
	{
		const char *key = names ? names[i].key : keys[i];
		const char *msg;

		if (key == NULL)
			key = "";
		msg = CheckMapKey(arena, key, names ? '#' : ':', names != NULL);
		if (msg != NULL)
		{
			KvExprBuf	buf;

			KvExprBufInit(&buf, arena);
			KvExprBufAppendStr(&buf, mapname);
			KvExprBufAppendStr(&buf, " contains invalid key: ");
			KvExprBufAppendStr(&buf, msg);
			result->error.kind = KVEXPR_ERROR_VALIDATION;
			result->error.message = buf.data;
			return false;
		}
		ks->keys[i] = key;
		ks->order[i] = i;
	}
	SortIndexes(ks->order, tmp, n, ks->keys);
	return true;
}

/*
 * UnusedError
 *		"Value provided in ExpressionAttribute... unused in expressions:
 *		keys: {#a, #b}", keys in the caller's order.
 */
static bool
UnusedError(KvExprArena *arena, const KeySet *ks, bool names, KvExprRequestResult *result)
{
	KvExprBuf	buf;
	bool		any = false;

	for (int i = 0; i < ks->n; i++)
	{
		if (ks->used[i])
			continue;
		if (!any)
		{
			KvExprBufInit(&buf, arena);
			KvExprBufAppendStr(&buf, names ?
							   "Value provided in ExpressionAttributeNames unused in expressions: keys: {" :
							   "Value provided in ExpressionAttributeValues unused in expressions: keys: {");
		}
		else
			KvExprBufAppendStr(&buf, ", ");
		KvExprBufAppendStr(&buf, ks->keys[i]);
		any = true;
	}
	if (!any)
		return false;
	KvExprBufAppendStr(&buf, "}");
	result->error.kind = KVEXPR_ERROR_VALIDATION;
	result->error.message = buf.data;
	return true;
}

/*
 * KeyCondError
 *		Record a KeyConditionExpression shape error (DynamoDB does not prefix
 *		these with "Invalid KeyConditionExpression: ").
 */
static bool
KeyCondError(KvExprArena *arena, KvExprRequestResult *result, const char *a, const char *b)
{
	KvExprBuf	buf;

	KvExprBufInit(&buf, arena);
	KvExprBufAppendStr(&buf, a);
	if (b)
		KvExprBufAppendStr(&buf, b);
	result->error.kind = KVEXPR_ERROR_VALIDATION;
	result->error.expr = KVEXPR_KEY_CONDITION;
	result->error.message = buf.data;
	return false;
}

/*
 * KeyConditionTerm
 *		One non-AND condition of a KeyConditionExpression.
 */
static bool
KeyConditionTerm(KvExprArena *arena, const KvExprNode *n, KvExprRequestResult *result,
				 int max)
{
	KvExprKeyOp op;
	const char *opname = OperatorName(n);
	KvExprKeyCondition kc;

	memset(&kc, 0, sizeof(kc));
	if (n->type == KVEXPR_NODE_COMPARE && n->cmp != KVEXPR_CMP_NE)
	{
		static const KvExprKeyOp map[] = {
			KVEXPR_KEY_EQ, KVEXPR_KEY_EQ, KVEXPR_KEY_LT, KVEXPR_KEY_LE,
			KVEXPR_KEY_GT, KVEXPR_KEY_GE
		};

		op = map[n->cmp];
	}
	else if (n->type == KVEXPR_NODE_BETWEEN)
		op = KVEXPR_KEY_BETWEEN;
	else if (n->type == KVEXPR_NODE_FUNC && n->func == KVEXPR_FUNC_BEGINS_WITH)
		op = KVEXPR_KEY_BEGINS_WITH;
	else
		return KeyCondError(arena, result, "Invalid operator used in KeyConditionExpression: ", opname);

	for (int i = 0; i < n->nargs; i++)
	{
		const KvExprNode *a = n->args[i];

		if (a->type == KVEXPR_NODE_PATH)
		{
			if (kc.attribute != NULL)
				return KeyCondError(arena, result, "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition", NULL);
			if (a->path.nelems > 1)
				return KeyCondError(arena, result, "KeyConditionExpressions cannot have conditions on nested attributes", NULL);
			kc.attribute = a->path.elems[0].name;
			kc.attribute_len = a->path.elems[0].name_len;
		}
		else if (a->type == KVEXPR_NODE_VALUE)
		{
			if (kc.attribute == NULL)
			{
				if (op == KVEXPR_KEY_BETWEEN || op == KVEXPR_KEY_BEGINS_WITH)
					return KeyCondError(arena, result, "Invalid condition in KeyConditionExpression: ",
										op == KVEXPR_KEY_BETWEEN ?
										"BETWEEN operator must have the key attribute as its first operand" :
										"begins_with operator must have the key attribute as its first operand");
				/* ":v < k" is "k > :v" */
				if (op == KVEXPR_KEY_LT)
					op = KVEXPR_KEY_GT;
				else if (op == KVEXPR_KEY_GT)
					op = KVEXPR_KEY_LT;
				else if (op == KVEXPR_KEY_LE)
					op = KVEXPR_KEY_GE;
				else if (op == KVEXPR_KEY_GE)
					op = KVEXPR_KEY_LE;
			}
			if (kc.nvalues < 2)
				kc.values[kc.nvalues++] = a->value;
		}
		else
			return KeyCondError(arena, result, "KeyConditionExpressions cannot contain nested operations", NULL);
	}
	if (kc.attribute == NULL)
		return KeyCondError(arena, result, "Invalid condition in KeyConditionExpression: No key attribute specified", NULL);
	for (int i = 0; i < result->nkeyconds; i++)
	{
		const KvExprKeyCondition *o = &result->keyconds[i];

		if (o->attribute_len == kc.attribute_len &&
			memcmp(o->attribute, kc.attribute, kc.attribute_len) == 0)
			return KeyCondError(arena, result, "KeyConditionExpressions must only contain one condition per key", NULL);
	}
	if (result->nkeyconds >= max)
		return false;
	kc.op = op;
	result->keyconds[result->nkeyconds++] = kc;
	return true;
}

/*
 * CountKeyTerms
 *		Number of non-AND conditions under (nested) ANDs.
 */
static int
CountKeyTerms(const KvExprNode *n)
{
	int			count = 0;

	if (n->type != KVEXPR_NODE_AND)
		return 1;
	for (int i = 0; i < n->nargs; i++)
		count += CountKeyTerms(n->args[i]);
	return count;
}

/*
 * CollectKeyTerms
 *		Check each condition under the ANDs, left to right.
 */
static bool
CollectKeyTerms(KvExprArena *arena, const KvExprNode *n, KvExprRequestResult *result, int max)
{
	if (n->type != KVEXPR_NODE_AND)
		return KeyConditionTerm(arena, n, result, max);
	for (int i = 0; i < n->nargs; i++)
	{
		if (!CollectKeyTerms(arena, n->args[i], result, max))
			return false;
	}
	return true;
}

/*
 * DecomposeKeyCondition
 *		Split the validated KeyConditionExpression at its ANDs and check each
 *		part's shape, the way DynamoDB does before looking at the schema.
 */
static bool
DecomposeKeyCondition(KvExprArena *arena, const KvExprNode *cond, KvExprRequestResult *result)
{
	int			max = CountKeyTerms(cond);

	result->keyconds = KvExprArenaAlloc(arena, sizeof(KvExprKeyCondition) * (size_t) max);
	if (result->keyconds == NULL)
		return false;
	return CollectKeyTerms(arena, cond, result, max);
}

/*
 * KvExprValidateRequest
 *		Parse and validate every expression of a request; see expr.h.
 */
KvExprErrorKind
KvExprValidateRequest(KvExprArena *arena, const KvExprRequest *req,
					  KvExprRequestResult *result)
{
	static const KvExprKind order[KVEXPR_NKINDS] = {
		KVEXPR_UPDATE, KVEXPR_CONDITION, KVEXPR_FILTER, KVEXPR_PROJECTION,
		KVEXPR_KEY_CONDITION
	};
	KeySet		names;
	KeySet		values;

	memset(result, 0, sizeof(*result));
	result->error.expr = -1;

	if (req->has_names)
	{
		bool		any = false;

		for (int i = 0; i < KVEXPR_NKINDS; i++)
			any |= req->text[i] != NULL;
		if (!any)
		{
			result->error.kind = KVEXPR_ERROR_VALIDATION;
			result->error.message = "ExpressionAttributeNames can only be specified when using expressions";
			goto fail;
		}
	}

	if (!BuildKeySet(arena, &names, req->has_names, req->nnames, NULL, req->names, result) ||
		!BuildKeySet(arena, &values, req->has_values, req->nvalues, req->values, NULL, result))
		goto fail;

	for (int i = 0; i < KVEXPR_NKINDS; i++)
	{
		KvExprKind	kind = order[i];
		KvExprErrState es;
		ValState	vs;
		KvExpr	   *expr;

		if (req->text[kind] == NULL)
			continue;
		memset(&es, 0, sizeof(es));
		es.arena = arena;
		es.kind = kind;
		expr = ParseOne(&es, req->text[kind], req->text_len[kind]);
		if (expr != NULL)
		{
			memset(&vs, 0, sizeof(vs));
			vs.es = &es;
			vs.arena = arena;
			vs.req = req;
			vs.names = &names;
			vs.values = &values;
			ValidateExpr(&vs, expr);
		}
		if (es.err != KVEXPR_OK || arena->failed)
		{
			if (es.err == KVEXPR_OK)
				es.err = KVEXPR_ERROR_OUT_OF_MEMORY;
			PrefixedError(arena, &es, &result->error);
			goto fail;
		}
		result->expr[kind] = expr;
	}

	if (UnusedError(arena, &names, true, result) ||
		UnusedError(arena, &values, false, result))
		goto fail;

	if (result->expr[KVEXPR_KEY_CONDITION] != NULL &&
		!DecomposeKeyCondition(arena, result->expr[KVEXPR_KEY_CONDITION]->cond, result))
		goto fail;

	if (arena->failed)
		goto fail;
	return KVEXPR_OK;

fail:
	if (arena->failed || result->error.kind == KVEXPR_OK || result->error.message == NULL)
	{
		result->error.kind = KVEXPR_ERROR_OUT_OF_MEMORY;
		result->error.message = "out of memory";
	}
	for (int i = 0; i < KVEXPR_NKINDS; i++)
		result->expr[i] = NULL;
	result->nkeyconds = 0;
	result->keyconds = NULL;
	return result->error.kind;
}
