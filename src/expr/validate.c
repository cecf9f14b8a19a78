/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  Validation pass 2 of parsed DynamoDB expressions: with the request's
 *	  names and values (document paths, operands and their types, the
 *	  operator limit, overlapping and conflicting paths).
 *
 * Two passes follow DynamoDB's own structure, so that when an expression
 * has several problems the same one is reported:
 *
 *	1. KvExprCheckTree (checktree.c): a source-order walk right after parsing -- reserved
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
 * Then, across the request (request.c): unused names, unused values, and
 * the shape of the KeyConditionExpression (keycond.c).
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "validate_int.h"

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

/* Overlap-detection tree of document paths */
typedef struct PathTree PathTree;
struct PathTree
{
	const KvExprPathElem *elem;
	PathTree   *first;
	PathTree   *last;
	PathTree   *next;
};

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
 * KvExprResolvePath
 *		DynamoDB's validateDocPath: depth limit, then each placeholder in
 *		order (a ":v" component is refused, a "#n" must be defined).
 */
bool
KvExprResolvePath(ValState *vs, KvExprPath *path)
{
	if (path->nelems > KVEXPR_MAX_PATH_DEPTH)
		return KvExprErrorInt(vs, KVEXPR_ERROR_LIMIT,
						"The document path has too many nesting levels; nesting levels: ",
						path->nelems);
	for (int i = 0; i < path->nelems; i++)
	{
		KvExprPathElem *e = &path->elems[i];
		int			k;

		if (e->kind != KVEXPR_ELEM_NAME || e->placeholder == NULL)
			continue;
		if (e->placeholder[0] == ':')
			return KvExprError2(vs, KVEXPR_ERROR_VALIDATION,
						  "The document path cannot contain attribute value parameters; attribute value: ",
						  e->placeholder);
		if (vs->req == NULL)
			continue;
		k = KeySetFind(vs->names, e->placeholder);
		if (k < 0)
			return KvExprError2(vs, KVEXPR_ERROR_VALIDATION,
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
	const char *name = KvExprOperatorName(n);
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
				return KvExprErrorV(vs, KVEXPR_ERROR_VALIDATION,
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
				KvExprAppendPath(&buf, n->args[0]->path.elems, n->args[0]->path.nelems);
				KvExprSetError(vs->es, KVEXPR_ERROR_VALIDATION, buf.data);
				return false;
			}
		}
	}

	if (n->type == KVEXPR_NODE_IN && n->nargs - 1 > KVEXPR_MAX_IN_OPERANDS)
		return KvExprErrorInt(vs, KVEXPR_ERROR_LIMIT,
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
				return KvExprError2(vs, KVEXPR_ERROR_VALIDATION,
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
					return KvExprErrorV(vs, KVEXPR_ERROR_VALIDATION,
								  "Incorrect operand type for operator or function; operator or function: ",
								  name, ", operand type: ", symbol, NULL);
				}
				vt = ValueType(vs, t->value, &str, &len);
				if (vt == KVEXPR_TYPE_UNKNOWN)
					break;
				if (vt != KVEXPR_TYPE_S)
					return KvExprErrorV(vs, KVEXPR_ERROR_VALIDATION,
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
			return KvExprErrorInt(vs, KVEXPR_ERROR_LIMIT,
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
			return KvExprResolvePath(vs, &n->path);
		case KVEXPR_NODE_VALUE:
			if (vs->req != NULL)
			{
				int			k = KeySetFind(vs->values, n->value);

				if (k < 0)
					return KvExprError2(vs, KVEXPR_ERROR_VALIDATION,
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
	KvExprAppendPath(&buf, path->elems, path->nelems);
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
 * KvExprValidateExpr
 *		Pass 2 for one parsed expression.
 */
bool
KvExprValidateExpr(ValState *vs, KvExpr *expr)
{
	PathTree	root;

	memset(&root, 0, sizeof(root));
	switch (expr->kind)
	{
		case KVEXPR_UPDATE:
			for (int i = expr->nactions - 1; i >= 0; i--)
			{
				if (!KvExprResolvePath(vs, &expr->actions[i].path) ||
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
					return KvExprErrorV(vs, KVEXPR_ERROR_VALIDATION,
								  "Incorrect operand type for operator or function; operator: ",
								  a->type == KVEXPR_UPDATE_ADD ? "ADD" : "DELETE",
								  ", operand type: ", type_words[t], NULL);
			}
			return true;
		case KVEXPR_PROJECTION:
			for (int i = expr->npaths - 1; i >= 0; i--)
			{
				if (!KvExprResolvePath(vs, &expr->paths[i]) ||
					!InsertPath(vs, &root, &expr->paths[i]))
					return false;
			}
			return true;
		default:
			return ValidateNode(vs, expr->cond);
	}
}
