/*-------------------------------------------------------------------------
 *
 * itemkey.c
 *	  Key attributes: an item's or a request's key as the key columns'
 *	  Datums, with DynamoDB's type, emptiness and size checks, and back.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "../common/errors.h"
#include "item_int.h"

/*
 * CheckKeyBytes rejects an empty S/B key value and one longer than the
 * partition-key (2048) or sort-key (1024) limit, in DynamoDB's words.
 */
static void
CheckKeyBytes(const KvKeyAttr *attr, int len, bool is_sort_key)
{
	if (len == 0)
		KvValidationError(KV_INVALID_PARAMS "The AttributeValue for a key attribute cannot contain an empty %s value. Key: %s",
						  attr->type == KV_TYPE_B ? "binary" : "string",
						  attr->name);
	if (!is_sort_key && len > KV_MAX_PARTITION_KEY_BYTES)
		KvValidationError(KV_INVALID_PARAMS "Size of hashkey has exceeded the maximum size limit of2048 bytes");
	if (is_sort_key && len > KV_MAX_SORT_KEY_BYTES)
		KvValidationError(KV_INVALID_PARAMS "Aggregated size of all range keys has exceeded the size limit of 1024 bytes");
}

/*
 * KeyValueDatum turns the JSON value of a key attribute into the key
 * column's Datum, checking type, emptiness and size.  A type mismatch in a
 * request key is DynamoDB's "does not match the schema"; in an item it
 * names the expected and actual types.
 */
static Datum
KeyValueDatum(const JsonbValue *v, const KvKeyAttr *attr, bool is_sort_key,
			  bool request)
{
	KvType		type = KvJsonbValueType(v);
	JsonbValue	scalar;

	if (type != attr->type)
	{
		if (request)
			KvValidationError("The provided key element does not match the schema");
		KvValidationError(KV_INVALID_PARAMS "Type mismatch for key %s expected: %s actual: %s",
						  attr->name, KvTypeName(attr->type),
						  KvTypeName(type));
	}

	/* scalars may come wrapped in a scalar container */
	if (v->type == jbvBinary && JsonContainerIsScalar(v->val.binary.data))
	{
		if (!JsonbExtractScalar(v->val.binary.data, &scalar))
			elog(ERROR, "invalid jsonb scalar container");
		v = &scalar;
	}

	switch (type)
	{
		case KV_TYPE_S:
			CheckKeyBytes(attr, v->val.string.len, is_sort_key);
			return PointerGetDatum(cstring_to_text_with_len(v->val.string.val,
															v->val.string.len));
		case KV_TYPE_N:
			{
				Numeric		n = KvNumberCanonical(v->val.numeric);

				return NumericGetDatum(DatumGetNumericCopy(NumericGetDatum(n)));
			}
		case KV_TYPE_B:
			{
				JsonbValue	inner;
				bytea	   *b;

				if (!KvTypedMember(v, &inner) || inner.type != jbvString)
					KvValidationError(KV_INVALID_PARAMS "A binary value {\"$B\": ...} must be a base64-encoded string");
				b = KvBase64Decode(inner.val.string.val, inner.val.string.len);
				CheckKeyBytes(attr, VARSIZE(b) - VARHDRSZ, is_sort_key);
				return PointerGetDatum(b);
			}
		default:
			elog(ERROR, "invalid key attribute type %d", (int) attr->type);
	}
	return (Datum) 0;			/* keep compiler quiet */
}

/*
 * KvItemKeyDatum extracts one key attribute of an item as the key column's
 * Datum; *found is false when the item lacks it.
 */
Datum
KvItemKeyDatum(Jsonb *item, const KvKeyAttr *attr, bool is_sort_key,
			   bool *found)
{
	JsonbValue	v;

	if (!JB_ROOT_IS_OBJECT(item))
		KvValidationError(KV_INVALID_PARAMS "An item must be a JSON object");
	if (getKeyJsonValueFromContainer(&item->root, attr->name,
									 strlen(attr->name), &v) == NULL)
	{
		*found = false;
		return (Datum) 0;
	}
	*found = true;
	return KeyValueDatum(&v, attr, is_sort_key, false);
}

/*
 * KvRequestKeyDatums reads the key of a GetItem/DeleteItem-style request:
 * exactly the schema's key attributes, each of its declared type.
 */
void
KvRequestKeyDatums(Jsonb *key, const KvKeySchema *schema, Datum *values)
{
	if (!JB_ROOT_IS_OBJECT(key) || JB_ROOT_COUNT(key) != schema->nkeys)
		KvValidationError("The provided key element does not match the schema");

	for (int k = 0; k < schema->nkeys; k++)
	{
		const KvKeyAttr *attr = &schema->keys[k];
		JsonbValue	v;

		if (getKeyJsonValueFromContainer(&key->root, attr->name,
										 strlen(attr->name), &v) == NULL)
			KvValidationError("The provided key element does not match the schema");
		values[k] = KeyValueDatum(&v, attr, k == 1, true);
	}
}

/*
 * KvKeyDatumFromValue converts a request value meant for a key attribute,
 * leaving a type mismatch for the caller to report in its own words.
 */
Datum
KvKeyDatumFromValue(const JsonbValue *v, const KvKeyAttr *attr, bool is_sort_key,
					bool *type_ok)
{
	if (KvJsonbValueType(v) != attr->type)
	{
		*type_ok = false;
		return (Datum) 0;
	}
	*type_ok = true;
	return KeyValueDatum(v, attr, is_sort_key, true);
}

/*
 * KvKeyDatumToJsonbValue gives the JSON value of a key column Datum:
 * jbvString for S, jbvNumeric for N, and for B a jbvBinary holding the
 * object {"$B": base64} (a binary container, unlike an in-memory
 * jbvObject, is accepted by pushJsonbValue as a WJB_VALUE/WJB_ELEM and by
 * JsonbValueToJsonb).  The result points into value (S, N) or into memory
 * allocated in CurrentMemoryContext (B).
 */
void
KvKeyDatumToJsonbValue(Datum value, KvType type, JsonbValue *out)
{
	switch (type)
	{
		case KV_TYPE_S:
			{
				text	   *t = DatumGetTextPP(value);

				out->type = jbvString;
				out->val.string.val = VARDATA_ANY(t);
				out->val.string.len = VARSIZE_ANY_EXHDR(t);
				break;
			}
		case KV_TYPE_N:
			out->type = jbvNumeric;
			out->val.numeric = DatumGetNumeric(value);
			break;
		case KV_TYPE_B:
			{
				bytea	   *b = DatumGetByteaPP(value);
				JsonbParseState *ps = NULL;
				JsonbValue	k;
				JsonbValue	s;
				JsonbValue *res;
				Jsonb	   *jb;

				k.type = jbvString;
				k.val.string.val = "$B";
				k.val.string.len = 2;
				s.type = jbvString;
				s.val.string.val = KvBase64Encode(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
				s.val.string.len = strlen(s.val.string.val);
				pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
				pushJsonbValue(&ps, WJB_KEY, &k);
				pushJsonbValue(&ps, WJB_VALUE, &s);
				res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
				jb = JsonbValueToJsonb(res);
				out->type = jbvBinary;
				out->val.binary.data = &jb->root;
				out->val.binary.len = VARSIZE(jb) - VARHDRSZ;
				break;
			}
		default:
			elog(ERROR, "invalid key attribute type %d", (int) type);
	}
}
