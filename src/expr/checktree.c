/*-------------------------------------------------------------------------
 *
 * checktree.c
 *	  Validation pass 1 (see validate.c): a source-order walk of a parsed
 *	  expression right after parsing -- reserved words used as bare names,
 *	  list index range, function names and where each function may appear,
 *	  repeated update sections.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "validate_int.h"

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
				return KvExprError3(ws->vs, KVEXPR_ERROR_VALIDATION,
							  "List index is not within the allowable range; index: [",
							  e->name, "]");
		}
		else if (e->placeholder == NULL &&
				 KvExprIsReservedWord(e->name, e->name_len))
			return KvExprError2(ws->vs, KVEXPR_ERROR_VALIDATION,
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
		return KvExprError2(ws->vs, KVEXPR_ERROR_VALIDATION,
					  "Invalid function name; function: ", n->func_name);
	if (ws->update)
	{
		if (!is_value_func)
			return KvExprError2(ws->vs, KVEXPR_ERROR_VALIDATION,
						  "The function is not allowed in an update expression; function: ",
						  n->func_name);
		if (ws->nesting > 0 && n->func != KVEXPR_FUNC_IF_NOT_EXISTS)
			goto misplaced;
	}
	else
	{
		if (is_value_func)
			return KvExprError2(ws->vs, KVEXPR_ERROR_VALIDATION,
						  "The function is not allowed in a condition expression; function: ",
						  n->func_name);
		if (ws->nesting == 0 && n->func == KVEXPR_FUNC_SIZE)
			goto misplaced;
		if (ws->nesting > 0 && n->func != KVEXPR_FUNC_SIZE)
			goto misplaced;
	}
	return true;

misplaced:
	return KvExprError2(ws->vs, KVEXPR_ERROR_VALIDATION,
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
							return KvExprError3(&vs, KVEXPR_ERROR_VALIDATION, "The \"",
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
