/*-------------------------------------------------------------------------
 *
 * itemsize.c
 *	  DynamoDB's size of an item and of a value (assumed valid), read
 *	  straight from jsonb and the numeric on-disk format, and
 *	  partkv.item_size().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "item_int.h"

PG_FUNCTION_INFO_V1(partkv_item_size);

static int64 ValueSize(const JsonbValue *v);
static int64 ContainerValueSize(JsonbContainer *c);

/*
 * The on-disk numeric format (numeric.c keeps its macros to itself; the
 * format is stable since PostgreSQL 9.1, special values since 14): after
 * the varlena header, a 16-bit word whose top bits say positive (00),
 * negative (01), short (10) or special (11).  A short numeric keeps sign,
 * display scale and a 7-bit weight in that word; a long one follows it
 * with a 16-bit weight.  Then come base-10000 digits, without leading or
 * trailing zero digits; the weight is the power of 10000 of the first.
 */
#define KV_NUMERIC_FLAGS(h)			((h) & 0xC000)
#define KV_NUMERIC_NEG				0x4000
#define KV_NUMERIC_SHORT			0x8000
#define KV_NUMERIC_SPECIAL			0xC000
#define KV_NUMERIC_SHORT_NEG		0x2000
#define KV_NUMERIC_SHORT_WEIGHT_NEG 0x0040
#define KV_NUMERIC_SHORT_WEIGHT		0x003F

/* KvDecimalDigits is the number of decimal digits of d, 1 <= d < 10000. */
static inline int
KvDecimalDigits(int d)
{
	return d >= 1000 ? 4 : d >= 100 ? 3 : d >= 10 ? 2 : 1;
}

/* KvTrailingZeros is the number of decimal zeros d, 1 <= d < 10000, ends in. */
static inline int
KvTrailingZeros(int d)
{
	return d % 1000 == 0 ? 3 : d % 100 == 0 ? 2 : d % 10 == 0 ? 1 : 0;
}

/*
 * NumericSize is the size of a number assumed valid (never an error: NaN
 * and infinities count as 1 byte), read off its base-10000 digits rather
 * than printed and parsed again: every item a query or scan returns is
 * sized.
 */
static int64
NumericSize(Numeric n)
{
	const char *data = VARDATA_ANY(n);
	int			len = VARSIZE_ANY_EXHDR(n);
	uint16		header;
	int			weight;
	bool		neg;
	int			hdrlen;
	int			first;
	int			last;
	int16		digit;
	KvNumber	num;

	if (len < (int) sizeof(uint16))
		return 1;
	memcpy(&header, data, sizeof(uint16));
	if (KV_NUMERIC_FLAGS(header) == KV_NUMERIC_SPECIAL)
		return 1;
	if (KV_NUMERIC_FLAGS(header) == KV_NUMERIC_SHORT)
	{
		hdrlen = sizeof(uint16);
		neg = (header & KV_NUMERIC_SHORT_NEG) != 0;
		weight = (header & KV_NUMERIC_SHORT_WEIGHT) |
			((header & KV_NUMERIC_SHORT_WEIGHT_NEG) ? ~KV_NUMERIC_SHORT_WEIGHT : 0);
	}
	else
	{
		int16		w;

		hdrlen = sizeof(uint16) + sizeof(int16);
		if (len < hdrlen)
			return 1;
		neg = KV_NUMERIC_FLAGS(header) == KV_NUMERIC_NEG;
		memcpy(&w, data + sizeof(uint16), sizeof(int16));
		weight = w;
	}

	/* the first and last non-zero digits (stored numerics have no others) */
	first = 0;
	last = (len - hdrlen) / (int) sizeof(int16) - 1;
	for (;; first++)
	{
		if (first > last)
			return 1;			/* zero */
		memcpy(&digit, data + hdrlen + first * sizeof(int16), sizeof(int16));
		if (digit != 0)
			break;
	}
	num.neg = neg;
	num.exponent = (weight - first) * 4 + KvDecimalDigits(digit) - 1;
	num.ndigits = KvDecimalDigits(digit);
	for (;; last--)
	{
		memcpy(&digit, data + hdrlen + last * sizeof(int16), sizeof(int16));
		if (digit != 0)
			break;
	}
	if (last > first)
		num.ndigits += 4 * (last - first);
	num.ndigits -= KvTrailingZeros(digit);
	num.digits = NULL;
	return KvNumberSize(&num);
}

/*
 * SetElementSize is the size of one element of a set of the given type.
 */
static int64
SetElementSize(KvType type, const JsonbValue *elem)
{
	if (type == KV_TYPE_NS && elem->type == jbvNumeric)
		return NumericSize(elem->val.numeric);
	if (elem->type != jbvString)
		return 0;
	if (type == KV_TYPE_BS)
		return KvBase64Length(elem->val.string.val, elem->val.string.len);
	return elem->val.string.len;
}

/*
 * TypedSize is the size of a binary value or set given its member value.
 */
static int64
TypedSize(KvType type, const JsonbValue *inner)
{
	int64		size = 0;

	if (type == KV_TYPE_B)
	{
		if (inner->type != jbvString)
			return 0;
		return KvBase64Length(inner->val.string.val, inner->val.string.len);
	}
	if (inner->type == jbvArray)
	{
		for (int i = 0; i < inner->val.array.nElems; i++)
			size += SetElementSize(type, &inner->val.array.elems[i]);
	}
	else if (inner->type == jbvBinary && JsonContainerIsArray(inner->val.binary.data))
	{
		JsonbIterator *it = JsonbIteratorInit(inner->val.binary.data);
		JsonbIteratorToken tok;
		JsonbValue	elem;

		while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
		{
			if (tok == WJB_ELEM)
				size += SetElementSize(type, &elem);
		}
	}
	return size;
}

/*
 * EntrySize is the size of child i of a jsonb container, read off its
 * JEntry where that says enough: sizing goes through every item a read
 * returns, and a JsonbIterator would copy each value out first.
 */
static int64
EntrySize(JsonbContainer *c, int i)
{
	JEntry		entry = c->children[i];
	int			nentries = JsonContainerSize(c) * (JsonContainerIsObject(c) ? 2 : 1);
	char	   *data = (char *) &c->children[nentries];

	if (JBE_ISSTRING(entry))
		return getJsonbLength(c, i);
	if (JBE_ISNUMERIC(entry))
		return NumericSize((Numeric) (data + INTALIGN(getJsonbOffset(c, i))));
	if (JBE_ISCONTAINER(entry))
		return ContainerValueSize((JsonbContainer *) (data + INTALIGN(getJsonbOffset(c, i))));
	return 1;					/* true, false, null */
}

/*
 * ContainerValueSize is the size of a value held in a jsonb container.
 */
static int64
ContainerValueSize(JsonbContainer *c)
{
	JsonbValue	inner;
	KvType		type;
	int			n = JsonContainerSize(c);
	int64		size = 3;

	if (JsonContainerIsScalar(c))
	{
		if (!JsonbExtractScalar(c, &inner))
			return 0;
		return ValueSize(&inner);
	}
	type = KvContainerType(c, &inner);
	if (type != KV_TYPE_M && type != KV_TYPE_L)
		return TypedSize(type, &inner);

	check_stack_depth();
	if (JsonContainerIsObject(c))
	{
		/* keys are children 0..n-1, their values n..2n-1 */
		for (int i = 0; i < n; i++)
			size += 1 + getJsonbLength(c, i) + EntrySize(c, n + i);
	}
	else
	{
		for (int i = 0; i < n; i++)
			size += 1 + EntrySize(c, i);
	}
	return size;
}

/*
 * ValueSize is the DynamoDB size of one value in any JsonbValue form,
 * without validating it.
 */
static int64
ValueSize(const JsonbValue *v)
{
	int64		size = 3;

	switch (v->type)
	{
		case jbvString:
			return v->val.string.len;
		case jbvNumeric:
			return NumericSize(v->val.numeric);
		case jbvBool:
		case jbvNull:
			return 1;
		case jbvBinary:
			return ContainerValueSize(v->val.binary.data);
		case jbvArray:
			if (v->val.array.rawScalar && v->val.array.nElems == 1)
				return ValueSize(&v->val.array.elems[0]);
			check_stack_depth();
			for (int i = 0; i < v->val.array.nElems; i++)
				size += 1 + ValueSize(&v->val.array.elems[i]);
			return size;
		case jbvObject:
			{
				KvType		type = KvJsonbValueType(v);

				if (type != KV_TYPE_M)
					return TypedSize(type, &v->val.object.pairs[0].value);
				check_stack_depth();
				for (int i = 0; i < v->val.object.nPairs; i++)
					size += 1 + v->val.object.pairs[i].key.val.string.len +
						ValueSize(&v->val.object.pairs[i].value);
				return size;
			}
		default:
			break;
	}
	return 0;
}

/*
 * KvValueSize is the DynamoDB size of one value (a map counts its member
 * names), assumed valid.
 */
int64
KvValueSize(const JsonbValue *v)
{
	return ValueSize(v);
}

/*
 * KvItemSize is the DynamoDB size of an item assumed valid: the sum of its
 * attribute names and values.
 */
int64
KvItemSize(Jsonb *item)
{
	JsonbContainer *root = &item->root;
	int			n = JsonContainerSize(root);
	int64		size = 0;

	if (!JB_ROOT_IS_OBJECT(item))
		return 0;
	for (int i = 0; i < n; i++)
		size += getJsonbLength(root, i) + EntrySize(root, n + i);
	return size;
}

/*
 * partkv_item_size: partkv.item_size(item jsonb) -> bigint, validating the
 * item as a PutItem would (400 KB limit included).
 */
Datum
partkv_item_size(PG_FUNCTION_ARGS)
{
	int64		size;

	(void) KvItemCheck(PG_GETARG_JSONB_P(0), KV_WRITE_PUT, &size);
	PG_RETURN_INT64(size);
}
