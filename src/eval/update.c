/*-------------------------------------------------------------------------
 *
 * update.c
 *	  Updates: an UpdateExpression (SET, REMOVE, ADD, DELETE) applied to
 *	  an item, with DynamoDB's runtime checks, and the UPDATED_OLD /
 *	  UPDATED_NEW attributes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/builtins.h"

#include "../common/errors.h"
#include "eval_int.h"

/* KvInvalidForUpdate raises DynamoDB's error for an unusable update path. */
static void
KvInvalidForUpdate(void)
{
	KvValidationError("The document path provided in the update expression is invalid for update");
}

/* KvIncorrectOperand raises DynamoDB's runtime operand type error. */
static void
KvIncorrectOperand(void)
{
	KvValidationError("An operand in the update expression has an incorrect data type");
}

/* KvJsonbAsValue presents a whole Jsonb as a jbvBinary value. */
static void
KvJsonbAsValue(Jsonb *j, JsonbValue *out)
{
	out->type = jbvBinary;
	out->val.binary.data = &j->root;
	out->val.binary.len = VARSIZE(j) - VARHDRSZ;
}

/* KvMakeList builds an L value from the elements of two lists. */
static void
KvConcatLists(const JsonbValue *a, const JsonbValue *b, JsonbValue *out)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;
	const JsonbValue *lists[2] = {a, b};

	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (int l = 0; l < 2; l++)
	{
		int			n = KvContainerCount(lists[l]);

		for (int i = 0; i < n; i++)
			pushJsonbValue(&state, WJB_ELEM,
						   getIthJsonbValueFromContainer(lists[l]->val.binary.data, i));
	}
	res = pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	KvJsonbAsValue(JsonbValueToJsonb(res), out);
}

/* KvMakeSet builds a typed set value {"$SS": [...]} from elements. */
static void
KvMakeSet(KvType type, JsonbValue *elems, int n, JsonbValue *out)
{
	JsonbParseState *state = NULL;
	JsonbValue	key;
	JsonbValue *res;
	const char *tag = (type == KV_TYPE_SS) ? "$SS" : (type == KV_TYPE_NS) ? "$NS" : "$BS";

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	key.type = jbvString;
	key.val.string.val = (char *) tag;
	key.val.string.len = 3;
	pushJsonbValue(&state, WJB_KEY, &key);
	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < n; i++)
		pushJsonbValue(&state, WJB_ELEM, &elems[i]);
	pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	KvJsonbAsValue(JsonbValueToJsonb(res), out);
}

/* KvNumberArith computes a + b or a - b within DynamoDB's number limits. */
static void
KvNumberArith(const JsonbValue *a, const JsonbValue *b, bool minus, JsonbValue *out)
{
	Datum		r;

	if (KvJsonbValueType(a) != KV_TYPE_N || KvJsonbValueType(b) != KV_TYPE_N)
		KvIncorrectOperand();
	r = DirectFunctionCall2(minus ? numeric_sub : numeric_add,
							NumericGetDatum(a->val.numeric), NumericGetDatum(b->val.numeric));
	KvNumberValue(KvNumberCanonical(DatumGetNumeric(r)), out);
}

/* KvEvalSetValue evaluates the right-hand side of a SET action on the old item. */
static void
KvEvalSetValue(KvEvalContext *cx, const KvExprNode *node, JsonbValue *out)
{
	JsonbValue	a,
				b;

	check_stack_depth();
	switch (node->type)
	{
		case KVEXPR_NODE_PATH:
			if (!KvResolvePath(cx->item, &node->path, out))
				KvValidationError("The provided expression refers to an attribute that does not exist in the item");
			return;
		case KVEXPR_NODE_VALUE:
			(void) KvEvalOperand(cx, node, out);
			return;
		case KVEXPR_NODE_PLUS:
		case KVEXPR_NODE_MINUS:
			KvEvalSetValue(cx, node->args[0], &a);
			KvEvalSetValue(cx, node->args[1], &b);
			KvNumberArith(&a, &b, node->type == KVEXPR_NODE_MINUS, out);
			return;
		case KVEXPR_NODE_FUNC:
			if (node->func == KVEXPR_FUNC_IF_NOT_EXISTS)
			{
				if (!KvResolvePath(cx->item, &node->args[0]->path, out))
					KvEvalSetValue(cx, node->args[1], out);
				return;
			}
			if (node->func == KVEXPR_FUNC_LIST_APPEND)
			{
				KvEvalSetValue(cx, node->args[0], &a);
				KvEvalSetValue(cx, node->args[1], &b);
				if (KvJsonbValueType(&a) != KV_TYPE_L || KvJsonbValueType(&b) != KV_TYPE_L)
					KvIncorrectOperand();
				KvConcatLists(&a, &b, out);
				return;
			}
			break;
		default:
			break;
	}
	elog(ERROR, "unexpected SET value node type %d", (int) node->type);
}

/*
 * KvDocParentOf walks to the container that holds the last element of
 * path, expanding stored maps and lists on the way; NULL when a step is
 * missing or of the wrong kind.
 */
static KvDoc *
KvDocParentOf(KvDoc *root, const KvExprPath *path)
{
	KvDoc	   *d = root;

	for (int i = 0; i < path->nelems - 1; i++)
	{
		const KvExprPathElem *e = &path->elems[i];
		int			at;

		if (e->kind == KVEXPR_ELEM_NAME)
		{
			if (d->kind != KV_DOC_MAP || (at = KvDocMember(d, e->name, e->name_len)) < 0)
				return NULL;
		}
		else
		{
			if (d->kind != KV_DOC_LIST || e->index >= (uint32) d->n)
				return NULL;
			at = e->index;
		}
		d = d->children[at];
		KvDocExpand(d);
	}
	return d;
}

/* KvDocChildAt returns the child the last path element names, or NULL. */
static KvDoc *
KvDocChildAt(KvDoc *parent, const KvExprPathElem *e, int *at)
{
	if (e->kind == KVEXPR_ELEM_NAME)
	{
		if (parent->kind != KV_DOC_MAP)
			KvInvalidForUpdate();
		*at = KvDocMember(parent, e->name, e->name_len);
	}
	else
	{
		if (parent->kind != KV_DOC_LIST)
			KvInvalidForUpdate();
		*at = (e->index < (uint32) parent->n) ? (int) e->index : -1;
	}
	return (*at >= 0) ? parent->children[*at] : NULL;
}

/* KvDocStore sets the child the last path element names (appending past a list's end). */
static void
KvDocStore(KvDoc *parent, const KvExprPathElem *e, int at, const JsonbValue *v)
{
	if (e->kind == KVEXPR_ELEM_NAME)
	{
		KvDocSetMember(parent, e->name, e->name_len, KvDocLeaf(v));
		return;
	}
	if (at < 0)
	{
		KvDocGrow(parent);
		at = parent->n++;
		parent->order[at] = at;
	}
	parent->children[at] = KvDocLeaf(v);
}

/* KvDocRemoveChild deletes what the last path element names. */
static void
KvDocRemoveChild(KvDoc *parent, const KvExprPathElem *e, int at)
{
	if (at < 0)
		return;
	if (e->kind == KVEXPR_ELEM_NAME)
		KvDocRemoveMember(parent, e->name, e->name_len);
	else
		parent->removed[at] = true; /* positions stay those before the update */
}

/* KvSetElements lists a set's elements. */
static JsonbValue *
KvSetElements(const JsonbValue *set, KvType type, int *n)
{
	JsonbValue	inner;
	JsonbValue *elems;

	KvTypedInner(set, type, &inner);
	*n = KvContainerCount(&inner);
	elems = palloc(sizeof(JsonbValue) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
		elems[i] = *getIthJsonbValueFromContainer(inner.val.binary.data, i);
	return elems;
}

/* KvApplyAddDelete performs ADD (number sum, set union) or DELETE (set difference). */
static void
KvApplyAddDelete(KvDoc *parent, const KvExprUpdateAction *action, const JsonbValue *operand)
{
	const KvExprPathElem *e = &action->path.elems[action->path.nelems - 1];
	int			at;
	KvDoc	   *cur = KvDocChildAt(parent, e, &at);
	KvType		top = KvJsonbValueType(operand);
	KvType		tcur;
	JsonbValue	result;
	JsonbValue *a,
			   *b,
			   *merged;
	int			na,
				nb,
				nm = 0;

	if (cur == NULL)
	{
		if (action->type == KVEXPR_UPDATE_ADD)
			KvDocStore(parent, e, at, operand);
		return;
	}
	if (cur->kind != KV_DOC_VALUE)
		KvIncorrectOperand();
	tcur = KvJsonbValueType(&cur->value);
	if (action->type == KVEXPR_UPDATE_ADD && top == KV_TYPE_N)
	{
		if (tcur != KV_TYPE_N)
			KvIncorrectOperand();
		KvNumberArith(&cur->value, operand, false, &result);
		KvDocStore(parent, e, at, &result);
		return;
	}
	if (tcur != top || (top != KV_TYPE_SS && top != KV_TYPE_NS && top != KV_TYPE_BS))
		KvIncorrectOperand();
	a = KvSetElements(&cur->value, tcur, &na);
	b = KvSetElements(operand, top, &nb);
	merged = palloc(sizeof(JsonbValue) * (na + nb + 1));
	if (action->type == KVEXPR_UPDATE_ADD)
	{
		JsonbValue	inner;

		KvTypedInner(&cur->value, tcur, &inner);
		for (int i = 0; i < na; i++)
			merged[nm++] = a[i];
		for (int i = 0; i < nb; i++)
			if (!KvSetContains(&inner, &b[i]))
				merged[nm++] = b[i];
	}
	else
	{
		JsonbValue	inner;

		KvTypedInner(operand, top, &inner);
		for (int i = 0; i < na; i++)
			if (!KvSetContains(&inner, &a[i]))
				merged[nm++] = a[i];
	}
	if (nm == 0)
	{
		/* a set is never empty: removing its last element removes it */
		KvDocRemoveChild(parent, e, at);
		return;
	}
	KvMakeSet(top, merged, nm, &result);
	KvDocStore(parent, e, at, &result);
}

/* KvCheckNotKey refuses update actions on key attributes. */
static void
KvCheckNotKey(const KvExprUpdateAction *action, const KvKeySchema *schema)
{
	const KvExprPathElem *top = &action->path.elems[0];

	for (int k = 0; k < schema->nkeys; k++)
		if (strlen(schema->keys[k].name) == top->name_len &&
			memcmp(schema->keys[k].name, top->name, top->name_len) == 0)
			KvValidationError(KV_INVALID_PARAMS "Cannot update attribute %s. This attribute is part of the key",
							  schema->keys[k].name);
}

KvUpdateResult
KvExprApplyUpdate(KvExprSet *set, Jsonb *old_item, Jsonb *key_item, const KvKeySchema *schema)
{
	KvUpdateResult result = {NULL, NULL, NULL};
	KvExpr	   *expr = set ? set->parsed.expr[KVEXPR_UPDATE] : NULL;
	KvEvalContext cx;
	JsonbValue *operands;
	KvDoc	   *doc;
	bool		creates = (old_item != NULL);
	const KvExprPath **paths;

	if (expr == NULL)
	{
		result.new_item = old_item ? old_item : key_item;
		return result;
	}

	for (int i = 0; i < expr->nactions; i++)
		KvCheckNotKey(&expr->actions[i], schema);

	/* every right-hand side reads the item as it was before the update */
	cx.set = set;
	cx.item = old_item;
	operands = palloc0(sizeof(JsonbValue) * Max(expr->nactions, 1));
	for (int i = 0; i < expr->nactions; i++)
	{
		const KvExprUpdateAction *action = &expr->actions[i];

		if (action->type == KVEXPR_UPDATE_SET)
			KvEvalSetValue(&cx, action->value, &operands[i]);
		else if (action->type != KVEXPR_UPDATE_REMOVE)
			(void) KvEvalOperand(&cx, action->value, &operands[i]);
		if (action->type == KVEXPR_UPDATE_SET || action->type == KVEXPR_UPDATE_ADD)
			creates = true;
	}
	if (!creates)
		return result;			/* a missing item that would only lose attributes */

	doc = KvDocFromItem(old_item ? old_item : key_item);

	/* writes first, then removals, so list positions are those before the update */
	for (int pass = 0; pass < 2; pass++)
	{
		for (int i = 0; i < expr->nactions; i++)
		{
			const KvExprUpdateAction *action = &expr->actions[i];
			const KvExprPathElem *last = &action->path.elems[action->path.nelems - 1];
			bool		is_remove = (action->type == KVEXPR_UPDATE_REMOVE);
			KvDoc	   *parent;
			int			at;

			if (is_remove != (pass == 1))
				continue;
			parent = KvDocParentOf(doc, &action->path);
			if (parent == NULL)
			{
				/* removing below a missing parent of a missing item is a no-op */
				if (is_remove && old_item == NULL)
					continue;
				KvInvalidForUpdate();
			}
			switch (action->type)
			{
				case KVEXPR_UPDATE_SET:
					(void) KvDocChildAt(parent, last, &at);
					KvDocStore(parent, last, at, &operands[i]);
					break;
				case KVEXPR_UPDATE_REMOVE:
					(void) KvDocChildAt(parent, last, &at);
					KvDocRemoveChild(parent, last, at);
					break;
				default:
					KvApplyAddDelete(parent, action, &operands[i]);
					break;
			}
		}
	}

	result.new_item = KvItemCheck(KvDocToJsonb(doc), KV_WRITE_UPDATE, NULL);

	paths = palloc(sizeof(KvExprPath *) * expr->nactions);
	for (int i = 0; i < expr->nactions; i++)
		paths[i] = &expr->actions[i].path;
	if (old_item != NULL)
		result.updated_old = KvProjectPaths(old_item, paths, expr->nactions);
	result.updated_new = KvProjectPaths(result.new_item, paths, expr->nactions);
	return result;
}
