/*-------------------------------------------------------------------------
 *
 * project.c
 *	  Projections: the attributes a ProjectionExpression names, copied
 *	  out of an item into a new one (list elements keep their order).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "eval_int.h"

/* KvDocListChild finds the child of a projected list that came from index. */
static int
KvDocListChild(const KvDoc *d, uint32 index)
{
	for (int i = 0; i < d->n; i++)
		if (d->order[i] == index)
			return i;
	return -1;
}

/* KvDocProjectInsert places value v at path[i..] in a projected document. */
static void
KvDocProjectInsert(KvDoc *d, const KvExprPath *path, int i, const JsonbValue *v)
{
	const KvExprPathElem *e = &path->elems[i];
	bool		last = (i == path->nelems - 1);
	KvDocKind	next_kind = KV_DOC_VALUE;
	KvDoc	   *child;
	int			at;

	if (!last)
		next_kind = (path->elems[i + 1].kind == KVEXPR_ELEM_NAME) ? KV_DOC_MAP : KV_DOC_LIST;
	if (e->kind == KVEXPR_ELEM_NAME)
	{
		at = KvDocMember(d, e->name, e->name_len);
		if (last || at < 0 || d->children[at]->kind != next_kind)
		{
			child = last ? KvDocLeaf(v) : KvDocNew(next_kind);
			KvDocSetMember(d, e->name, e->name_len, child);
		}
		else
			child = d->children[at];
	}
	else
	{
		at = KvDocListChild(d, e->index);
		if (last || at < 0 || d->children[at]->kind != next_kind)
		{
			child = last ? KvDocLeaf(v) : KvDocNew(next_kind);
			if (at < 0)
			{
				KvDocGrow(d);
				at = d->n++;
				d->order[at] = e->index;
			}
			d->children[at] = child;
		}
		else
			child = d->children[at];
	}
	if (!last)
		KvDocProjectInsert(child, path, i + 1, v);
}

/* KvDocSortLists orders projected list elements by their source index. */
static void
KvDocSortLists(KvDoc *d)
{
	check_stack_depth();
	if (d->kind == KV_DOC_LIST)
	{
		for (int i = 1; i < d->n; i++)
			for (int j = i; j > 0 && d->order[j - 1] > d->order[j]; j--)
			{
				KvDoc	   *tc = d->children[j];
				uint32		to = d->order[j];

				d->children[j] = d->children[j - 1];
				d->order[j] = d->order[j - 1];
				d->children[j - 1] = tc;
				d->order[j - 1] = to;
			}
	}
	for (int i = 0; i < d->n; i++)
		KvDocSortLists(d->children[i]);
}

/* KvProjectPaths keeps only the given paths of an item, with their nesting. */
Jsonb *
KvProjectPaths(Jsonb *item, const KvExprPath *const *paths, int npaths)
{
	KvDoc	   *out = KvDocNew(KV_DOC_MAP);

	for (int p = 0; p < npaths; p++)
	{
		JsonbValue	v;

		if (KvResolvePath(item, paths[p], &v))
			KvDocProjectInsert(out, paths[p], 0, &v);
	}
	KvDocSortLists(out);
	return KvDocToJsonb(out);
}

Jsonb *
KvExprProject(KvExprSet *set, Jsonb *item)
{
	KvExpr	   *expr;
	const KvExprPath **paths;

	if (item == NULL || !KvExprHas(set, KVEXPR_PROJECTION))
		return item;
	expr = set->parsed.expr[KVEXPR_PROJECTION];
	paths = palloc(sizeof(KvExprPath *) * Max(expr->npaths, 1));
	for (int i = 0; i < expr->npaths; i++)
		paths[i] = &expr->paths[i];
	return KvProjectPaths(item, paths, expr->npaths);
}
