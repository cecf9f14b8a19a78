/*-------------------------------------------------------------------------
 *
 * dynamojson.c
 *	  The edge codec: DynamoDB's typed JSON ({"S": ...}, {"M": {...}}) to
 *	  and from partkv's plain-JSON items, for whole items and single values,
 *	  and the SQL functions to_dynamodb_json and from_dynamodb_json.
 *
 * Both directions validate everything but the 400 KB item size: they
 * convert, writes enforce the limit.  Errors are DynamoDB's
 * ValidationException and SerializationException wording.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"

#include "../common/errors.h"
#include "dynamojson.h"
#include "item_int.h"

PG_FUNCTION_INFO_V1(partkv_to_dynamodb_json);
PG_FUNCTION_INFO_V1(partkv_from_dynamodb_json);

static void DynamoShapeError(const char *tag, const char *expected,
							 JsonbValue *got) pg_attribute_noreturn();
static void PushDynamoValue(JsonbParseState **ps, JsonbValue *v);
static void PushFromDynamoValue(JsonbParseState **ps, JsonbValue *v, int depth,
								JsonbIteratorToken as);

/*
 * PushString pushes a string as the given token (key, value or element).
 */
static void
PushString(JsonbParseState **ps, JsonbIteratorToken tok, const char *s, int len)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = len;
	pushJsonbValue(ps, tok, &v);
}

/*
 * PushNumberText pushes a number as DynamoDB JSON does: its canonical text
 * as a string.
 */
static void
PushNumberText(JsonbParseState **ps, JsonbIteratorToken tok, Numeric n)
{
	char	   *text = DatumGetCString(DirectFunctionCall1(numeric_out,
														   NumericGetDatum(n)));

	PushString(ps, tok, text, strlen(text));
}

/*
 * PushDynamoValue pushes one validated, canonical plain-JSON value as a
 * DynamoDB AttributeValue ({"S": ...}, {"M": {...}}, ...).
 */
static void
PushDynamoValue(JsonbParseState **ps, JsonbValue *v)
{
	JsonbValue	inner;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	e;
	JsonbContainer *c;
	KvType		type;

	pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);
	switch (v->type)
	{
		case jbvString:
			PushString(ps, WJB_KEY, "S", 1);
			pushJsonbValue(ps, WJB_VALUE, v);
			break;
		case jbvNumeric:
			PushString(ps, WJB_KEY, "N", 1);
			PushNumberText(ps, WJB_VALUE, v->val.numeric);
			break;
		case jbvBool:
			PushString(ps, WJB_KEY, "BOOL", 4);
			pushJsonbValue(ps, WJB_VALUE, v);
			break;
		case jbvNull:
			PushString(ps, WJB_KEY, "NULL", 4);
			e.type = jbvBool;
			e.val.boolean = true;
			pushJsonbValue(ps, WJB_VALUE, &e);
			break;
		case jbvBinary:
			c = v->val.binary.data;
			type = KvContainerType(c, &inner);
			PushString(ps, WJB_KEY, KvTypeName(type), strlen(KvTypeName(type)));
			switch (type)
			{
				case KV_TYPE_B:
				case KV_TYPE_SS:
				case KV_TYPE_BS:
					/* same JSON in both forms: a string, or strings */
					pushJsonbValue(ps, WJB_VALUE, &inner);
					break;
				case KV_TYPE_NS:
					pushJsonbValue(ps, WJB_BEGIN_ARRAY, NULL);
					it = JsonbIteratorInit(inner.val.binary.data);
					while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
					{
						if (tok == WJB_ELEM)
							PushNumberText(ps, WJB_ELEM, e.val.numeric);
					}
					pushJsonbValue(ps, WJB_END_ARRAY, NULL);
					break;
				case KV_TYPE_L:
					check_stack_depth();
					pushJsonbValue(ps, WJB_BEGIN_ARRAY, NULL);
					it = JsonbIteratorInit(c);
					while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
					{
						if (tok == WJB_ELEM)
							PushDynamoValue(ps, &e);
					}
					pushJsonbValue(ps, WJB_END_ARRAY, NULL);
					break;
				default:
					check_stack_depth();
					pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);
					it = JsonbIteratorInit(c);
					while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
					{
						if (tok == WJB_KEY)
							pushJsonbValue(ps, WJB_KEY, &e);
						else if (tok == WJB_VALUE)
							PushDynamoValue(ps, &e);
					}
					pushJsonbValue(ps, WJB_END_OBJECT, NULL);
					break;
			}
			break;
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
	pushJsonbValue(ps, WJB_END_OBJECT, NULL);
}

/*
 * KvToDynamoJson converts a plain-JSON item to DynamoDB typed JSON.  The
 * item is validated (all but its size) and canonicalised first, so the
 * conversion is lossless and from_dynamodb_json gives it back.
 */
Jsonb *
KvToDynamoJson(Jsonb *item)
{
	JsonbParseState *ps = NULL;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	JsonbValue *res = NULL;

	item = KvItemCheckInternal(item, KV_WRITE_PUT, false, NULL);

	it = JsonbIteratorInit(&item->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_VALUE)
			PushDynamoValue(&ps, &v);
		else
			res = pushJsonbValue(&ps, tok, tok < WJB_BEGIN_ARRAY ? &v : NULL);
	}
	return JsonbValueToJsonb(res);
}

/*
 * DynamoShapeError reports DynamoDB JSON of the wrong JSON type where
 * DynamoDB would raise a SerializationException.
 */
static void
DynamoShapeError(const char *tag, const char *expected, JsonbValue *got)
{
	ereport(ERROR,
			(errcode(KV_ERRCODE_VALIDATION),
			 errmsg("Invalid DynamoDB JSON: the value of \"%s\" must be %s, got %s",
					tag, expected, JsonbTypeName(got)),
			 strcmp(tag, "N") == 0 || strcmp(tag, "NS") == 0 ?
			 errhint("DynamoDB JSON writes numbers as strings, e.g. {\"N\": \"123\"}.") : 0));
}

/*
 * IsContainer tells whether a value is a jsonb array (want_array) or
 * object held in a binary container.
 */
static bool
IsContainer(const JsonbValue *v, bool want_array)
{
	if (v->type != jbvBinary || JsonContainerIsScalar(v->val.binary.data))
		return false;
	return want_array ? JsonContainerIsArray(v->val.binary.data) :
		JsonContainerIsObject(v->val.binary.data);
}

/*
 * TextOf copies a jsonb string as a C string.
 */
static char *
TextOf(const JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * PushFromDynamoSet pushes the elements of a DynamoDB set (SS, NS, BS:
 * arrays of strings) as the array of a partkv typed set.
 */
static void
PushFromDynamoSet(JsonbParseState **ps, const char *tag, JsonbValue *val)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	e;

	if (!IsContainer(val, true))
		DynamoShapeError(tag, "an array of strings", val);
	pushJsonbValue(ps, WJB_BEGIN_ARRAY, NULL);
	it = JsonbIteratorInit(val->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (e.type != jbvString)
			DynamoShapeError(tag, "an array of strings", &e);
		if (tag[0] == 'N')
		{
			JsonbValue	n;

			n.type = jbvNumeric;
			n.val.numeric = KvNumberFromText(TextOf(&e));
			pushJsonbValue(ps, WJB_ELEM, &n);
		}
		else
		{
			if (tag[0] == 'B')
				KvBase64Check(e.val.string.val, e.val.string.len);
			pushJsonbValue(ps, WJB_ELEM, &e);
		}
	}
	pushJsonbValue(ps, WJB_END_ARRAY, NULL);
}

/*
 * PushFromDynamoValue pushes the plain-JSON form of one DynamoDB
 * AttributeValue found at the given nesting depth, validating its shape
 * with DynamoDB's messages.  "as" is WJB_VALUE for a member of an object,
 * WJB_ELEM for an element of an array.
 */
static void
PushFromDynamoValue(JsonbParseState **ps, JsonbValue *v, int depth,
					JsonbIteratorToken as)
{
	JsonbContainer *c;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	e;
	JsonbValue	val = {0};
	char	   *tag;
	int			n;

	if (!IsContainer(v, false))
		KvValidationError("Invalid DynamoDB JSON: an AttributeValue must be an object such as {\"S\": \"text\"}, got %s",
						  JsonbTypeName(v));
	c = v->val.binary.data;
	n = JsonContainerSize(c);
	if (n == 0)
		KvValidationError("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes");
	if (n > 1)
		KvValidationError("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes");

	/* the one member: its name is the type tag */
	it = JsonbIteratorInit(c);
	tag = NULL;
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			tag = TextOf(&e);
		else if (tok == WJB_VALUE)
			val = e;
	}
	Assert(tag != NULL);

	if (strcmp(tag, "S") == 0)
	{
		if (val.type != jbvString)
			DynamoShapeError(tag, "a string", &val);
		pushJsonbValue(ps, as, &val);
	}
	else if (strcmp(tag, "N") == 0)
	{
		JsonbValue	num;

		if (val.type != jbvString)
			DynamoShapeError(tag, "a string", &val);
		num.type = jbvNumeric;
		num.val.numeric = KvNumberFromText(TextOf(&val));
		pushJsonbValue(ps, as, &num);
	}
	else if (strcmp(tag, "B") == 0)
	{
		if (val.type != jbvString)
			DynamoShapeError(tag, "a base64-encoded string", &val);
		KvBase64Check(val.val.string.val, val.val.string.len);
		pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);
		PushString(ps, WJB_KEY, "$B", 2);
		/* the member of {"$B": ...}, wherever that object itself sits */
		pushJsonbValue(ps, WJB_VALUE, &val);
		pushJsonbValue(ps, WJB_END_OBJECT, NULL);
	}
	else if (strcmp(tag, "BOOL") == 0)
	{
		if (val.type != jbvBool)
			DynamoShapeError(tag, "a boolean", &val);
		pushJsonbValue(ps, as, &val);
	}
	else if (strcmp(tag, "NULL") == 0)
	{
		JsonbValue	null;

		if (val.type != jbvBool)
			DynamoShapeError(tag, "a boolean", &val);
		if (!val.val.boolean)
			KvValidationError(KV_INVALID_PARAMS "Null attribute value types must have the value of true");
		null.type = jbvNull;
		pushJsonbValue(ps, as, &null);
	}
	else if (strcmp(tag, "M") == 0 || strcmp(tag, "L") == 0)
	{
		bool		is_list = (tag[0] == 'L');
		JsonbContainer *mc;

		if (!IsContainer(&val, is_list))
			DynamoShapeError(tag, is_list ? "an array" : "an object", &val);
		if (depth >= KV_MAX_DEPTH)
			KvValidationError("Nesting Levels have exceeded supported limits");
		check_stack_depth();
		mc = val.val.binary.data;
		if (!is_list && JsonContainerSize(mc) == 1 &&
			KvContainerType(mc, NULL) != KV_TYPE_M)
		{
			const char *key = (const char *) &mc->children[2] + getJsonbOffset(mc, 0);

			KvValidationError(KV_INVALID_PARAMS "A map whose only member is named \"%.*s\" cannot be represented as a partkv item",
							  (int) getJsonbLength(mc, 0), key);
		}
		pushJsonbValue(ps, is_list ? WJB_BEGIN_ARRAY : WJB_BEGIN_OBJECT, NULL);
		it = JsonbIteratorInit(mc);
		while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
		{
			if (tok == WJB_KEY)
				pushJsonbValue(ps, WJB_KEY, &e);
			else if (tok == WJB_VALUE || tok == WJB_ELEM)
				PushFromDynamoValue(ps, &e, depth + 1, tok);
		}
		pushJsonbValue(ps, is_list ? WJB_END_ARRAY : WJB_END_OBJECT, NULL);
	}
	else if (strcmp(tag, "SS") == 0 || strcmp(tag, "NS") == 0 ||
			 strcmp(tag, "BS") == 0)
	{
		/* a string that outlives this call: pushJsonbValue keeps pointers */
		const char *name = tag[0] == 'S' ? "$SS" : tag[0] == 'N' ? "$NS" : "$BS";

		pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);
		PushString(ps, WJB_KEY, name, 3);
		PushFromDynamoSet(ps, tag, &val);
		pushJsonbValue(ps, WJB_END_OBJECT, NULL);
	}
	else
		ereport(ERROR,
				(errcode(KV_ERRCODE_VALIDATION),
				 errmsg("Supplied AttributeValue has an unsupported datatype \"%s\", must contain exactly one of the supported datatypes",
						tag),
				 errhint("The datatypes are S, N, B, BOOL, NULL, M, L, SS, NS and BS.")));
}

/*
 * KvFromDynamoJson converts a DynamoDB typed-JSON item to a plain-JSON
 * item, validated (all but its size) and canonical.
 */
Jsonb *
KvFromDynamoJson(Jsonb *typed)
{
	JsonbParseState *ps = NULL;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	JsonbValue *res = NULL;

	if (!JB_ROOT_IS_OBJECT(typed))
		KvValidationError(KV_INVALID_PARAMS "An item must be a JSON object");

	it = JsonbIteratorInit(&typed->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			KvCheckAttributeName(v.val.string.len, true);
		if (tok == WJB_VALUE)
			PushFromDynamoValue(&ps, &v, 0, WJB_VALUE);
		else
			res = pushJsonbValue(&ps, tok, tok < WJB_BEGIN_ARRAY ? &v : NULL);
	}
	/* sets: emptiness, duplicates; the result is canonical already */
	return KvItemCheckInternal(JsonbValueToJsonb(res), KV_WRITE_PUT, false, NULL);
}

/*
 * WrapValue makes the one-attribute item {"v": value}, so that a single
 * value goes through the whole-item conversions and their validation.
 * pushJsonbValue takes only scalars and binary containers as values: an
 * in-memory object or array is made a container first.
 */
static Jsonb *
WrapValue(const JsonbValue *value)
{
	JsonbParseState *ps = NULL;
	JsonbValue	v = *value;
	JsonbValue	key;
	JsonbValue *res;

	if (v.type == jbvObject || v.type == jbvArray)
	{
		Jsonb	   *c = JsonbValueToJsonb(&v);

		if (!JsonbExtractScalar(&c->root, &v))
		{
			v.type = jbvBinary;
			v.val.binary.data = &c->root;
			v.val.binary.len = VARSIZE(c) - VARHDRSZ;
		}
	}
	key.type = jbvString;
	key.val.string.val = "v";
	key.val.string.len = 1;
	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	pushJsonbValue(&ps, WJB_KEY, &key);
	pushJsonbValue(&ps, WJB_VALUE, &v);
	res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/*
 * UnwrapValue returns the member "v" of an item WrapValue made.
 */
static JsonbValue *
UnwrapValue(Jsonb *item)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&item->root, "v", 1, NULL);

	if (v == NULL)
		elog(ERROR, "converted value not found");
	return v;
}

/*
 * KvValueToDynamoJson converts one plain-JSON value to its AttributeValue,
 * validated and canonicalised as an attribute of an item would be.
 */
Jsonb *
KvValueToDynamoJson(const JsonbValue *value)
{
	return JsonbValueToJsonb(UnwrapValue(KvToDynamoJson(WrapValue(value))));
}

/*
 * KvValueFromDynamoJson converts one AttributeValue to its plain-JSON
 * value, validated and canonical.
 */
JsonbValue *
KvValueFromDynamoJson(const JsonbValue *attribute_value)
{
	return UnwrapValue(KvFromDynamoJson(WrapValue(attribute_value)));
}

/*
 * partkv_to_dynamodb_json: partkv.to_dynamodb_json(item jsonb) -> jsonb.
 */
Datum
partkv_to_dynamodb_json(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(KvToDynamoJson(PG_GETARG_JSONB_P(0)));
}

/*
 * partkv_from_dynamodb_json: partkv.from_dynamodb_json(item jsonb) -> jsonb.
 */
Datum
partkv_from_dynamodb_json(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(KvFromDynamoJson(PG_GETARG_JSONB_P(0)));
}
