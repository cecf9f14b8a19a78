/*-------------------------------------------------------------------------
 *
 * dump.c
 *	  Text rendering of parsed expressions, for tests and debugging.
 *
 * Conditions and operands are s-expressions: (AND (= [a] :v) (NOT ...)),
 * functions (size [a]); paths print as DynamoDB prints them in messages.
 * Updates print one action per clause in source order, "SET [a] = :v;
 * REMOVE [b]"; projections as a comma-separated list of paths.
 *
 *-------------------------------------------------------------------------
 */
#include "expr_int.h"

/*
 * DumpNode
 *		Append one node.  Recursion depth is bounded by the parser's nesting
 *		limit.
 */
static void
DumpNode(KvExprBuf *buf, const KvExprNode *n)
{
	const char *op;

	switch (n->type)
	{
		case KVEXPR_NODE_PATH:
			{
				char	   *s = KvExprPathToString(buf->arena, &n->path);

				KvExprBufAppendStr(buf, s ? s : "?");
				return;
			}
		case KVEXPR_NODE_VALUE:
			KvExprBufAppendStr(buf, n->value);
			return;
		case KVEXPR_NODE_FUNC:
			op = n->func_name;
			break;
		case KVEXPR_NODE_PLUS:
			op = "+";
			break;
		case KVEXPR_NODE_MINUS:
			op = "-";
			break;
		case KVEXPR_NODE_COMPARE:
			op = KvExprCmpSymbol(n->cmp);
			break;
		case KVEXPR_NODE_BETWEEN:
			op = "BETWEEN";
			break;
		case KVEXPR_NODE_IN:
			op = "IN";
			break;
		case KVEXPR_NODE_AND:
			op = "AND";
			break;
		case KVEXPR_NODE_OR:
			op = "OR";
			break;
		case KVEXPR_NODE_NOT:
			op = "NOT";
			break;
		default:
			op = "?";
			break;
	}
	KvExprBufAppendStr(buf, "(");
	KvExprBufAppendStr(buf, op);
	for (int i = 0; i < n->nargs; i++)
	{
		KvExprBufAppendStr(buf, " ");
		DumpNode(buf, n->args[i]);
	}
	KvExprBufAppendStr(buf, ")");
}

/*
 * KvExprDump
 *		Render a whole expression.
 */
char *
KvExprDump(KvExprArena *arena, const KvExpr *expr)
{
	KvExprBuf	buf;
	static const char *const actions[] = {"SET", "REMOVE", "ADD", "DELETE"};

	KvExprBufInit(&buf, arena);
	KvExprBufAppendStr(&buf, "");
	switch (expr->kind)
	{
		case KVEXPR_UPDATE:
			for (int i = 0; i < expr->nactions; i++)
			{
				const KvExprUpdateAction *a = &expr->actions[i];
				char	   *s = KvExprPathToString(arena, &a->path);

				if (i > 0)
					KvExprBufAppendStr(&buf, "; ");
				KvExprBufAppendStr(&buf, actions[a->type]);
				KvExprBufAppendStr(&buf, " ");
				KvExprBufAppendStr(&buf, s ? s : "?");
				if (a->type == KVEXPR_UPDATE_SET)
					KvExprBufAppendStr(&buf, " =");
				if (a->value)
				{
					KvExprBufAppendStr(&buf, " ");
					DumpNode(&buf, a->value);
				}
			}
			break;
		case KVEXPR_PROJECTION:
			for (int i = 0; i < expr->npaths; i++)
			{
				char	   *s = KvExprPathToString(arena, &expr->paths[i]);

				if (i > 0)
					KvExprBufAppendStr(&buf, ", ");
				KvExprBufAppendStr(&buf, s ? s : "?");
			}
			break;
		default:
			DumpNode(&buf, expr->cond);
			break;
	}
	return buf.data;
}
