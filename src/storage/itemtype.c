/*-------------------------------------------------------------------------
 *
 * itemtype.c
 *	  DynamoDB's attribute types: their names, the key types and their
 *	  column types, and the type of any jsonb value of an item (plain JSON
 *	  with one-member "$B"/"$SS"/"$NS"/"$BS" objects for what JSON lacks).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/jsonb.h"

#include "item_int.h"

/*
 * KvTypeName returns DynamoDB's name of an attribute type, as used in
 * DynamoDB JSON and in error messages.
 */
const char *
KvTypeName(KvType type)
{
	switch (type)
	{
		case KV_TYPE_S:
			return "S";
		case KV_TYPE_N:
			return "N";
		case KV_TYPE_B:
			return "B";
		case KV_TYPE_BOOL:
			return "BOOL";
		case KV_TYPE_NULL:
			return "NULL";
		case KV_TYPE_M:
			return "M";
		case KV_TYPE_L:
			return "L";
		case KV_TYPE_SS:
			return "SS";
		case KV_TYPE_NS:
			return "NS";
		case KV_TYPE_BS:
			return "BS";
		case KV_TYPE_INVALID:
			break;
	}
	return "INVALID";
}

/*
 * KvKeyTypeFromName parses a key attribute type name; only S, N and B can
 * type a key.
 */
KvType
KvKeyTypeFromName(const char *name)
{
	if (name == NULL)
		return KV_TYPE_INVALID;
	if (strcmp(name, "S") == 0)
		return KV_TYPE_S;
	if (strcmp(name, "N") == 0)
		return KV_TYPE_N;
	if (strcmp(name, "B") == 0)
		return KV_TYPE_B;
	return KV_TYPE_INVALID;
}

/*
 * KvKeyTypeOid returns the PostgreSQL type of a key column: text for S,
 * numeric for N, bytea for B (InvalidOid for anything else).
 */
Oid
KvKeyTypeOid(KvType type)
{
	switch (type)
	{
		case KV_TYPE_S:
			return TEXTOID;
		case KV_TYPE_N:
			return NUMERICOID;
		case KV_TYPE_B:
			return BYTEAOID;
		default:
			return InvalidOid;
	}
}

/*
 * TypedNameType tells which typed value a one-member object whose member
 * is called name stands for: B, SS, NS or BS, or KV_TYPE_INVALID when the
 * name is not one of "$B", "$SS", "$NS", "$BS" (the object is then a map).
 */
static KvType
TypedNameType(const char *name, int len)
{
	if (len == 2 && name[0] == '$' && name[1] == 'B')
		return KV_TYPE_B;
	if (len == 3 && name[0] == '$' && name[2] == 'S')
	{
		switch (name[1])
		{
			case 'S':
				return KV_TYPE_SS;
			case 'N':
				return KV_TYPE_NS;
			case 'B':
				return KV_TYPE_BS;
		}
	}
	return KV_TYPE_INVALID;
}

/*
 * KvContainerType is the DynamoDB type of a non-scalar jsonb container: L for
 * arrays, a typed value for a one-member "$B"/"$SS"/"$NS"/"$BS" object
 * (whose member value is stored in *inner when inner is not NULL), M for
 * any other object.  The single key is read straight from the container,
 * sparing an iterator on the hot path.
 */
KvType
KvContainerType(JsonbContainer *c, JsonbValue *inner)
{
	if (JsonContainerIsArray(c))
		return KV_TYPE_L;
	if (JsonContainerSize(c) == 1)
	{
		/* object layout: key JEntry, value JEntry, then key data */
		const char *key = (const char *) &c->children[2] + getJsonbOffset(c, 0);
		int			keylen = getJsonbLength(c, 0);
		KvType		t = TypedNameType(key, keylen);

		if (t != KV_TYPE_INVALID)
		{
			if (inner != NULL &&
				getKeyJsonValueFromContainer(c, key, keylen, inner) == NULL)
				elog(ERROR, "jsonb object member not found");
			return t;
		}
	}
	return KV_TYPE_M;
}

/*
 * KvJsonbValueType is the DynamoDB type of a jsonb value, in any of its
 * forms (scalar, in-memory object/array, or binary container).
 */
KvType
KvJsonbValueType(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return KV_TYPE_NULL;
		case jbvString:
			return KV_TYPE_S;
		case jbvNumeric:
			return KV_TYPE_N;
		case jbvBool:
			return KV_TYPE_BOOL;
		case jbvArray:
			if (v->val.array.rawScalar && v->val.array.nElems == 1)
				return KvJsonbValueType(&v->val.array.elems[0]);
			return KV_TYPE_L;
		case jbvObject:
			if (v->val.object.nPairs == 1)
			{
				const JsonbValue *k = &v->val.object.pairs[0].key;
				KvType		t = TypedNameType(k->val.string.val, k->val.string.len);

				if (t != KV_TYPE_INVALID)
					return t;
			}
			return KV_TYPE_M;
		case jbvBinary:
			if (JsonContainerIsScalar(v->val.binary.data))
			{
				JsonbValue	scalar;

				if (!JsonbExtractScalar(v->val.binary.data, &scalar))
					return KV_TYPE_INVALID;
				return KvJsonbValueType(&scalar);
			}
			return KvContainerType(v->val.binary.data, NULL);
		default:
			break;
	}
	return KV_TYPE_INVALID;
}

/*
 * KvTypedMember finds the member value of a typed value ({"$B": x} -> x) in
 * any form of JsonbValue; false when v is not a one-member object.
 */
bool
KvTypedMember(const JsonbValue *v, JsonbValue *inner)
{
	if (v->type == jbvObject && v->val.object.nPairs == 1)
	{
		*inner = v->val.object.pairs[0].value;
		return true;
	}
	if (v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data))
	{
		KvType		t = KvContainerType(v->val.binary.data, inner);

		return t == KV_TYPE_B || t == KV_TYPE_SS || t == KV_TYPE_NS ||
			t == KV_TYPE_BS;
	}
	return false;
}
