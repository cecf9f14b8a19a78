/*-------------------------------------------------------------------------
 *
 * condition.c
 *	  Conditions: ConditionExpression, FilterExpression and key conditions
 *	  evaluated on an item read in place (comparisons, BETWEEN, IN,
 *	  functions).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "../common/errors.h"
#include "eval_int.h"

static bool KvEvalCondition(KvEvalContext *cx, const KvExprNode *node);

/* KvSizeOf computes size(); false when the operand has no size (N, BOOL, NULL). */
static bool
KvSizeOf(const JsonbValue *v, JsonbValue *out)
{
	KvType		t = KvJsonbValueType(v);
	int64		size;

	switch (t)
	{
		case KV_TYPE_S:
			size = v->val.string.len;
			break;
		case KV_TYPE_B:
			{
				bytea	   *b = KvDecodeBinary(v);

				size = VARSIZE_ANY_EXHDR(b);
				break;
			}
		case KV_TYPE_SS:
		case KV_TYPE_NS:
		case KV_TYPE_BS:
			{
				JsonbValue	inner;

				KvTypedInner(v, t, &inner);
				size = KvContainerCount(&inner);
				break;
			}
		case KV_TYPE_L:
		case KV_TYPE_M:
			size = KvContainerCount(v);
			break;
		default:
			return false;
	}
	KvNumberValue(int64_to_numeric(size), out);
	return true;
}

/* KvEvalOperand evaluates an operand; false when it is missing. */
bool
KvEvalOperand(KvEvalContext *cx, const KvExprNode *node, JsonbValue *out)
{
	switch (node->type)
	{
		case KVEXPR_NODE_PATH:
			return KvResolvePath(cx->item, &node->path, out);
		case KVEXPR_NODE_VALUE:
			if (!KvExprLookupValue(cx->set, node->value, out))
				KvValidationError("An expression attribute value used in expression is not defined; attribute value: %s",
								  node->value);
			return true;
		case KVEXPR_NODE_FUNC:
			if (node->func == KVEXPR_FUNC_SIZE)
			{
				JsonbValue	arg;

				if (!KvEvalOperand(cx, node->args[0], &arg))
					return false;
				return KvSizeOf(&arg, out);
			}
			break;
		default:
			break;
	}
	elog(ERROR, "unexpected operand node type %d", (int) node->type);
	return false;
}

/* KvBytesOf gives the bytes of an S or B value for prefix/substring tests. */
static void
KvBytesOf(const JsonbValue *v, KvType t, const char **data, int *len)
{
	if (t == KV_TYPE_S)
	{
		*data = v->val.string.val;
		*len = v->val.string.len;
	}
	else
	{
		bytea	   *b = KvDecodeBinary(v);

		*data = VARDATA_ANY(b);
		*len = VARSIZE_ANY_EXHDR(b);
	}
}

/* KvBeginsWith implements begins_with(a, b) for S and B. */
static bool
KvBeginsWith(const JsonbValue *a, const JsonbValue *b)
{
	KvType		ta = KvJsonbValueType(a);
	KvType		tb = KvJsonbValueType(b);
	const char *da,
			   *db;
	int			la,
				lb;

	if (ta != tb || (ta != KV_TYPE_S && ta != KV_TYPE_B))
		return false;
	KvBytesOf(a, ta, &da, &la);
	KvBytesOf(b, tb, &db, &lb);
	return lb <= la && memcmp(da, db, lb) == 0;
}

/* KvContains implements contains(a, b): substring, set membership, list element. */
static bool
KvContains(const JsonbValue *a, const JsonbValue *b)
{
	KvType		ta = KvJsonbValueType(a);
	KvType		tb = KvJsonbValueType(b);

	if ((ta == KV_TYPE_S || ta == KV_TYPE_B) && ta == tb)
	{
		const char *da,
				   *db;
		int			la,
					lb;

		KvBytesOf(a, ta, &da, &la);
		KvBytesOf(b, tb, &db, &lb);
		if (lb == 0)
			return true;
		for (int i = 0; i + lb <= la; i++)
			if (memcmp(da + i, db, lb) == 0)
				return true;
		return false;
	}
	if ((ta == KV_TYPE_SS && tb == KV_TYPE_S) || (ta == KV_TYPE_NS && tb == KV_TYPE_N))
	{
		JsonbValue	inner;

		KvTypedInner(a, ta, &inner);
		return KvSetContains(&inner, b);
	}
	if (ta == KV_TYPE_BS && tb == KV_TYPE_B)
	{
		JsonbValue	inner,
					bin;

		KvTypedInner(a, ta, &inner);
		KvTypedInner(b, tb, &bin);
		return KvSetContains(&inner, &bin);
	}
	if (ta == KV_TYPE_L)
	{
		int			n = KvContainerCount(a);

		for (int i = 0; i < n; i++)
			if (KvValueEquals(getIthJsonbValueFromContainer(a->val.binary.data, i), b))
				return true;
	}
	return false;
}

/* KvEvalFunction evaluates a boolean function of a condition. */
static bool
KvEvalFunction(KvEvalContext *cx, const KvExprNode *node)
{
	JsonbValue	a,
				b;

	switch (node->func)
	{
		case KVEXPR_FUNC_ATTRIBUTE_EXISTS:
			return KvResolvePath(cx->item, &node->args[0]->path, &a);
		case KVEXPR_FUNC_ATTRIBUTE_NOT_EXISTS:
			return !KvResolvePath(cx->item, &node->args[0]->path, &a);
		case KVEXPR_FUNC_ATTRIBUTE_TYPE:
			if (!KvResolvePath(cx->item, &node->args[0]->path, &a) ||
				!KvEvalOperand(cx, node->args[1], &b) || b.type != jbvString)
				return false;
			{
				const char *name = KvTypeName(KvJsonbValueType(&a));

				return strlen(name) == (size_t) b.val.string.len &&
					memcmp(name, b.val.string.val, b.val.string.len) == 0;
			}
		case KVEXPR_FUNC_BEGINS_WITH:
			return KvEvalOperand(cx, node->args[0], &a) &&
				KvEvalOperand(cx, node->args[1], &b) && KvBeginsWith(&a, &b);
		case KVEXPR_FUNC_CONTAINS:
			return KvEvalOperand(cx, node->args[0], &a) &&
				KvEvalOperand(cx, node->args[1], &b) && KvContains(&a, &b);
		default:
			elog(ERROR, "function %s is not a condition", node->func_name);
	}
	return false;
}

/* KvEvalCompare evaluates a comparator with DynamoDB's missing/mismatch rules. */
static bool
KvEvalCompare(KvEvalContext *cx, const KvExprNode *node)
{
	JsonbValue	a,
				b;
	bool		have_a = KvEvalOperand(cx, node->args[0], &a);
	bool		have_b = KvEvalOperand(cx, node->args[1], &b);
	bool		comparable;
	int			c;

	if (node->cmp == KVEXPR_CMP_EQ)
		return have_a && have_b && KvValueEquals(&a, &b);
	if (node->cmp == KVEXPR_CMP_NE)
		return !(have_a && have_b && KvValueEquals(&a, &b));
	if (!have_a || !have_b)
		return false;
	c = KvValueCompare(&a, &b, &comparable);
	if (!comparable)
		return false;
	switch (node->cmp)
	{
		case KVEXPR_CMP_LT:
			return c < 0;
		case KVEXPR_CMP_LE:
			return c <= 0;
		case KVEXPR_CMP_GT:
			return c > 0;
		default:
			return c >= 0;
	}
}

/* KvEvalBetween checks lower <= x <= upper; BETWEEN of constants is validated first. */
static bool
KvEvalBetween(KvEvalContext *cx, const KvExprNode *node)
{
	JsonbValue	x,
				lo,
				hi;
	bool		c1,
				c2;
	int			r1,
				r2;

	if (!KvEvalOperand(cx, node->args[0], &x) ||
		!KvEvalOperand(cx, node->args[1], &lo) ||
		!KvEvalOperand(cx, node->args[2], &hi))
		return false;
	r1 = KvValueCompare(&lo, &x, &c1);
	r2 = KvValueCompare(&x, &hi, &c2);
	return c1 && c2 && r1 <= 0 && r2 <= 0;
}

static bool
KvEvalCondition(KvEvalContext *cx, const KvExprNode *node)
{
	JsonbValue	x,
				v;

	check_stack_depth();
	switch (node->type)
	{
		case KVEXPR_NODE_AND:
			for (int i = 0; i < node->nargs; i++)
				if (!KvEvalCondition(cx, node->args[i]))
					return false;
			return true;
		case KVEXPR_NODE_OR:
			for (int i = 0; i < node->nargs; i++)
				if (KvEvalCondition(cx, node->args[i]))
					return true;
			return false;
		case KVEXPR_NODE_NOT:
			return !KvEvalCondition(cx, node->args[0]);
		case KVEXPR_NODE_COMPARE:
			return KvEvalCompare(cx, node);
		case KVEXPR_NODE_BETWEEN:
			return KvEvalBetween(cx, node);
		case KVEXPR_NODE_IN:
			if (!KvEvalOperand(cx, node->args[0], &x))
				return false;
			for (int i = 1; i < node->nargs; i++)
				if (KvEvalOperand(cx, node->args[i], &v) && KvValueEquals(&x, &v))
					return true;
			return false;
		case KVEXPR_NODE_FUNC:
			return KvEvalFunction(cx, node);
		default:
			elog(ERROR, "unexpected condition node type %d", (int) node->type);
	}
	return false;
}

bool
KvExprTest(KvExprSet *set, KvExprKind kind, Jsonb *item)
{
	KvEvalContext cx;
	KvExpr	   *expr;

	if (!KvExprHas(set, kind))
		return true;
	expr = set->parsed.expr[kind];
	cx.set = set;
	cx.item = item;
	return KvEvalCondition(&cx, expr->cond);
}
