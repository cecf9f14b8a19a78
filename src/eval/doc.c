/*-------------------------------------------------------------------------
 *
 * doc.c
 *	  Mutable documents (KvDoc): the parts of an item that a projection or
 *	  an update touches, expanded from jsonb on demand and serialised back
 *	  with pushJsonbValue (which keeps object keys in jsonb's order).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "eval_int.h"

/* KvDocNew makes an empty map or list. */
KvDoc *
KvDocNew(KvDocKind kind)
{
	KvDoc	   *d = palloc0(sizeof(KvDoc));

	d->kind = kind;
	return d;
}

/* KvDocLeaf wraps a value. */
KvDoc *
KvDocLeaf(const JsonbValue *v)
{
	KvDoc	   *d = KvDocNew(KV_DOC_VALUE);

	d->value = *v;
	return d;
}

/* KvGrowArray enlarges a palloc'd array, zeroing the new part. */
static void *
KvGrowArray(void *ptr, int oldn, int newn, Size elemsize)
{
	char	   *p;

	if (ptr == NULL)
		return palloc0(elemsize * newn);
	p = repalloc(ptr, elemsize * newn);
	memset(p + elemsize * oldn, 0, elemsize * (newn - oldn));
	return p;
}

/* KvDocGrow makes room for one more child. */
void
KvDocGrow(KvDoc *d)
{
	if (d->n < d->cap)
		return;
	{
		int			newcap = Max(8, d->cap * 2);

		d->children = KvGrowArray(d->children, d->cap, newcap, sizeof(KvDoc *));
		d->names = KvGrowArray(d->names, d->cap, newcap, sizeof(char *));
		d->namelens = KvGrowArray(d->namelens, d->cap, newcap, sizeof(int));
		d->order = KvGrowArray(d->order, d->cap, newcap, sizeof(uint32));
		d->removed = KvGrowArray(d->removed, d->cap, newcap, sizeof(bool));
		d->cap = newcap;
	}
}

/* KvDocExpand turns a leaf holding a map or list into a mutable node. */
void
KvDocExpand(KvDoc *d)
{
	KvType		t;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (d->kind != KV_DOC_VALUE)
		return;
	t = KvJsonbValueType(&d->value);
	if (t != KV_TYPE_M && t != KV_TYPE_L)
		return;
	it = JsonbIteratorInit(d->value.val.binary.data);
	d->kind = (t == KV_TYPE_M) ? KV_DOC_MAP : KV_DOC_LIST;
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			KvDocGrow(d);
			d->names[d->n] = v.val.string.val;
			d->namelens[d->n] = v.val.string.len;
		}
		else if (tok == WJB_VALUE)
		{
			d->children[d->n] = KvDocLeaf(&v);
			d->n++;
		}
		else if (tok == WJB_ELEM)
		{
			KvDocGrow(d);
			d->order[d->n] = d->n;
			d->children[d->n] = KvDocLeaf(&v);
			d->n++;
		}
	}
}

/* KvDocFromItem makes the top-level map of an item (NULL: empty map). */
KvDoc *
KvDocFromItem(Jsonb *item)
{
	KvDoc	   *d;

	if (item == NULL)
		return KvDocNew(KV_DOC_MAP);
	d = KvDocNew(KV_DOC_VALUE);
	d->value.type = jbvBinary;
	d->value.val.binary.data = &item->root;
	d->value.val.binary.len = VARSIZE(item) - VARHDRSZ;
	KvDocExpand(d);
	return d;
}

/* KvDocMember finds a map member; -1 when absent. */
int
KvDocMember(const KvDoc *d, const char *name, int len)
{
	for (int i = 0; i < d->n; i++)
		if (d->namelens[i] == len && memcmp(d->names[i], name, len) == 0)
			return i;
	return -1;
}

/* KvDocSetMember sets (adds or replaces) a map member. */
void
KvDocSetMember(KvDoc *d, const char *name, int len, KvDoc *child)
{
	int			i = KvDocMember(d, name, len);

	if (i < 0)
	{
		KvDocGrow(d);
		i = d->n++;
		d->names[i] = pnstrdup(name, len);
		d->namelens[i] = len;
	}
	d->children[i] = child;
}

/* KvDocRemoveMember deletes a map member if present. */
void
KvDocRemoveMember(KvDoc *d, const char *name, int len)
{
	int			i = KvDocMember(d, name, len);

	if (i < 0)
		return;
	for (int j = i + 1; j < d->n; j++)
	{
		d->children[j - 1] = d->children[j];
		d->names[j - 1] = d->names[j];
		d->namelens[j - 1] = d->namelens[j];
	}
	d->n--;
}

/*
 * KvDocPush serialises a document into a jsonb parse state; returns what the
 * last push returned (the finished value for a top-level container).
 */
static JsonbValue *
KvDocPush(JsonbParseState **state, KvDoc *d, JsonbIteratorToken as)
{
	check_stack_depth();
	if (d->kind == KV_DOC_VALUE)
		return pushJsonbValue(state, as, &d->value);
	if (d->kind == KV_DOC_MAP)
	{
		pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
		for (int i = 0; i < d->n; i++)
		{
			JsonbValue	key;

			key.type = jbvString;
			key.val.string.val = d->names[i];
			key.val.string.len = d->namelens[i];
			pushJsonbValue(state, WJB_KEY, &key);
			KvDocPush(state, d->children[i], WJB_VALUE);
		}
		return pushJsonbValue(state, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(state, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < d->n; i++)
		if (!d->removed[i])
			KvDocPush(state, d->children[i], WJB_ELEM);
	return pushJsonbValue(state, WJB_END_ARRAY, NULL);
}

/* KvDocToJsonb serialises a top-level map. */
Jsonb *
KvDocToJsonb(KvDoc *d)
{
	JsonbParseState *state = NULL;

	Assert(d->kind == KV_DOC_MAP);
	return JsonbValueToJsonb(KvDocPush(&state, d, WJB_VALUE));
}
