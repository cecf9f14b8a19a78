/*-------------------------------------------------------------------------
 *
 * value.c
 *	  DynamoDB values as expressions see them: typed values' contents,
 *	  set membership, sizes of containers, equality and ordering.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"

#include "eval_int.h"

/*
 * KvTypedInner gives the inner value of a typed value ($B string, set
 * array): storage's KvTypedMember, which must find it.
 */
void
KvTypedInner(const JsonbValue *v, KvType type, JsonbValue *inner)
{
	if (!KvTypedMember(v, inner))
		elog(ERROR, "typed value of type %s without its member", KvTypeName(type));
}

/* KvDecodeBinary decodes a B value's base64 into bytes. */
bytea *
KvDecodeBinary(const JsonbValue *v)
{
	JsonbValue	inner;

	KvTypedInner(v, KV_TYPE_B, &inner);
	return KvBase64Decode(inner.val.string.val, inner.val.string.len);
}

/* KvCompareBytes orders byte strings as unsigned bytes, shorter first on a tie. */
static int
KvCompareBytes(const char *a, int alen, const char *b, int blen)
{
	int			r = memcmp(a, b, Min(alen, blen));

	if (r != 0)
		return r;
	return (alen > blen) - (alen < blen);
}

/* KvContainerCount is the number of elements or pairs of a container value. */
int
KvContainerCount(const JsonbValue *v)
{
	return JsonContainerSize(v->val.binary.data);
}

/* KvSetContains tells whether a set (inner array) has an element equal to elem. */
bool
KvSetContains(const JsonbValue *inner, const JsonbValue *elem)
{
	int			n = KvContainerCount(inner);

	for (int i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(inner->val.binary.data, i);

		if (e->type == elem->type && KvValueEquals(e, elem))
			return true;
	}
	return false;
}

/*
 * KvScalarSetElemEquals compares set elements: strings (S, and canonical
 * base64 of B) by bytes, numbers by value.
 */
bool
KvValueEquals(const JsonbValue *a, const JsonbValue *b)
{
	KvType		ta = KvJsonbValueType(a);
	KvType		tb = KvJsonbValueType(b);

	if (ta != tb)
		return false;
	switch (ta)
	{
		case KV_TYPE_S:
			return a->val.string.len == b->val.string.len &&
				memcmp(a->val.string.val, b->val.string.val, a->val.string.len) == 0;
		case KV_TYPE_N:
			return DatumGetInt32(DirectFunctionCall2(numeric_cmp,
													 NumericGetDatum(a->val.numeric),
													 NumericGetDatum(b->val.numeric))) == 0;
		case KV_TYPE_BOOL:
			return a->val.boolean == b->val.boolean;
		case KV_TYPE_NULL:
			return true;
		case KV_TYPE_B:
			{
				JsonbValue	ia,
							ib;

				/* base64 is canonical in stored items and values */
				KvTypedInner(a, ta, &ia);
				KvTypedInner(b, tb, &ib);
				return KvValueEquals(&ia, &ib);
			}
		case KV_TYPE_SS:
		case KV_TYPE_NS:
		case KV_TYPE_BS:
			{
				JsonbValue	ia,
							ib;
				int			n;

				KvTypedInner(a, ta, &ia);
				KvTypedInner(b, tb, &ib);
				n = KvContainerCount(&ia);
				if (n != KvContainerCount(&ib))
					return false;
				/* sets hold no duplicates: equal sizes and inclusion suffice */
				for (int i = 0; i < n; i++)
				{
					JsonbValue *e = getIthJsonbValueFromContainer(ia.val.binary.data, i);

					if (!KvSetContains(&ib, e))
						return false;
				}
				return true;
			}
		case KV_TYPE_L:
			{
				int			n = KvContainerCount(a);

				if (n != KvContainerCount(b))
					return false;
				for (int i = 0; i < n; i++)
				{
					JsonbValue *ea = getIthJsonbValueFromContainer(a->val.binary.data, i);
					JsonbValue *eb = getIthJsonbValueFromContainer(b->val.binary.data, i);

					if (!KvValueEquals(ea, eb))
						return false;
				}
				return true;
			}
		case KV_TYPE_M:
			{
				JsonbIterator *it;
				JsonbValue	k,
							v,
							other;
				JsonbIteratorToken tok;

				if (KvContainerCount(a) != KvContainerCount(b))
					return false;
				it = JsonbIteratorInit(a->val.binary.data);
				while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
				{
					if (tok != WJB_KEY)
						continue;
					tok = JsonbIteratorNext(&it, &v, true);
					if (getKeyJsonValueFromContainer(b->val.binary.data, k.val.string.val,
													 k.val.string.len, &other) == NULL ||
						!KvValueEquals(&v, &other))
						return false;
				}
				return true;
			}
		default:
			return false;
	}
}

int
KvValueCompare(const JsonbValue *a, const JsonbValue *b, bool *comparable)
{
	KvType		ta = KvJsonbValueType(a);
	KvType		tb = KvJsonbValueType(b);

	*comparable = (ta == tb && (ta == KV_TYPE_S || ta == KV_TYPE_N || ta == KV_TYPE_B));
	if (!*comparable)
		return 0;
	if (ta == KV_TYPE_N)
		return DatumGetInt32(DirectFunctionCall2(numeric_cmp,
												 NumericGetDatum(a->val.numeric),
												 NumericGetDatum(b->val.numeric)));
	if (ta == KV_TYPE_S)
		return KvCompareBytes(a->val.string.val, a->val.string.len,
							  b->val.string.val, b->val.string.len);
	{
		bytea	   *ba = KvDecodeBinary(a);
		bytea	   *bb = KvDecodeBinary(b);

		return KvCompareBytes(VARDATA_ANY(ba), VARSIZE_ANY_EXHDR(ba),
							  VARDATA_ANY(bb), VARSIZE_ANY_EXHDR(bb));
	}
}

/* KvNumberValue makes a jbvNumeric JsonbValue. */
void
KvNumberValue(Numeric n, JsonbValue *out)
{
	out->type = jbvNumeric;
	out->val.numeric = n;
}
