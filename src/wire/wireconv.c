/*-------------------------------------------------------------------------
 *
 * wireconv.c
 *	  Reading wire requests and converting between DynamoDB's typed JSON
 *	  and partkv's plain JSON, with the storage layer's codec
 *	  (KvFromDynamoJson / KvToDynamoJson): one codec for SQL and wire.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"

#include "../common/errors.h"
#include "../storage/dynamojson.h"
#include "../storage/item.h"
#include "wire.h"

/* which way a request or response is converted */
typedef enum WireDir
{
	WIRE_TO_PLAIN,				/* a request: typed in, plain to the API */
	WIRE_TO_TYPED				/* a response: plain from the API, typed out */
} WireDir;

/* what the value of a member holds */
typedef enum WireRole
{
	ROLE_WALK,					/* structure: convert what is inside */
	ROLE_ITEM,					/* an item, key or attribute-value map */
	ROLE_ITEMS,					/* an array of those */
	ROLE_TABLE_MAP,				/* table name -> structure */
	ROLE_TABLE_ITEMS			/* table name -> array of items */
} WireRole;

void
WireSerializationError(const char *fmt,...)
{
	char		buf[512];
	va_list		ap;
	const KvErrorType *type = KvErrorTypeByName("SerializationException");
	JsonbParseState *ps = NULL;
	JsonbValue	v;
	JsonbValue *res;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	v.type = jbvString;
	v.val.string.val = "__type";
	v.val.string.len = 6;
	pushJsonbValue(&ps, WJB_KEY, &v);
	v.val.string.val = psprintf("%s#%s", type->ns, type->name);
	v.val.string.len = strlen(v.val.string.val);
	pushJsonbValue(&ps, WJB_VALUE, &v);
	v.val.string.val = "message";
	v.val.string.len = 7;
	pushJsonbValue(&ps, WJB_KEY, &v);
	v.val.string.val = buf;
	v.val.string.len = strlen(buf);
	pushJsonbValue(&ps, WJB_VALUE, &v);
	res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	ereport(ERROR,
			(errcode(WIRE_ERRCODE_SERIALIZATION),
			 errmsg("%s", buf),
			 errdetail_internal("%s", JsonbToCString(NULL, &JsonbValueToJsonb(res)->root, 0))));
	pg_unreachable();
}

/* WireUnsupported refuses a request partkv does not implement yet. */
void
WireUnsupported(const char *what)
{
	KvValidationError("%s", what);
	pg_unreachable();
}

/* WireRefuseMembers refuses the first of members that the request has. */
void
WireRefuseMembers(Jsonb *req, const char *const *members)
{
	for (int i = 0; members[i] != NULL; i++)
	{
		if (WireHas(req, members[i]))
			WireUnsupported(psprintf("partkv does not support the request parameter %s yet; use the expression parameters instead",
									 members[i]));
	}
}

/*
 * WireJoinPresent lists, ", "-joined in the order given, the members the
 * request has; NULL when it has none.  KeyConditions counts only beside a
 * KeyConditionExpression: DynamoDB accepts it with the other expressions.
 */
static char *
WireJoinPresent(Jsonb *req, const char *const *members)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; members[i] != NULL; i++)
	{
		if (!WireHas(req, members[i]))
			continue;
		if (strcmp(members[i], "KeyConditions") == 0 &&
			!WireHas(req, "KeyConditionExpression"))
			continue;
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", members[i]);
	}
	return buf.len > 0 ? buf.data : NULL;
}

/*
 * WireRefuseLegacy checks a request's legacy (non-expression) members:
 * mixed with expression members they are DynamoDB's ValidationException,
 * which it raises before anything else looks at the request beyond its
 * TableName; alone they are refused as not implemented yet.  Both lists
 * are in the order DynamoDB names them in its message.
 */
void
WireRefuseLegacy(Jsonb *req, const char *const *legacy, const char *const *expressions)
{
	char	   *named = WireJoinPresent(req, legacy);
	char	   *expr = named ? WireJoinPresent(req, expressions) : NULL;

	if (expr != NULL)
		KvValidationError("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {%s} Expression parameters: {%s}",
						  named, expr);
	WireRefuseMembers(req, legacy);
}

/* WireFind looks a member up; false when absent or JSON null. */
static bool
WireFind(Jsonb *req, const char *member, JsonbValue *v)
{
	if (req == NULL || !JB_ROOT_IS_OBJECT(req) || JB_ROOT_IS_SCALAR(req))
		return false;
	if (getKeyJsonValueFromContainer(&req->root, member, strlen(member), v) == NULL)
		return false;
	return v->type != jbvNull;
}

bool
WireHas(Jsonb *req, const char *member)
{
	JsonbValue	v;

	return WireFind(req, member, &v);
}

/* JSON type names as DynamoDB's serializer reports them */
static const char *
WireTypeName(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return "STRING_VALUE";
		case jbvNumeric:
			return "NUMBER_VALUE";
		case jbvBool:
			return "BOOLEAN_VALUE";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "START_ARRAY" : "START_OBJECT";
		default:
			return "VALUE_NULL";
	}
}

char *
WireString(Jsonb *req, const char *member)
{
	JsonbValue	v;

	if (!WireFind(req, member, &v))
		return NULL;
	if (v.type != jbvString)
		WireSerializationError("%s can not be converted to a String (member %s)",
							   WireTypeName(&v), member);
	return pnstrdup(v.val.string.val, v.val.string.len);
}

static bool
IsContainerOf(const JsonbValue *v, bool array)
{
	if (v->type != jbvBinary || JsonContainerIsScalar(v->val.binary.data))
		return false;
	return array ? JsonContainerIsArray(v->val.binary.data) :
		JsonContainerIsObject(v->val.binary.data);
}

Jsonb *
WireObject(Jsonb *req, const char *member)
{
	JsonbValue	v;

	if (!WireFind(req, member, &v))
		return NULL;
	if (!IsContainerOf(&v, false))
		WireSerializationError("%s can not be converted to a Structure (member %s)",
							   WireTypeName(&v), member);
	return JsonbValueToJsonb(&v);
}

Jsonb *
WireArray(Jsonb *req, const char *member)
{
	JsonbValue	v;

	if (!WireFind(req, member, &v))
		return NULL;
	if (!IsContainerOf(&v, true))
		WireSerializationError("%s can not be converted to a List (member %s)",
							   WireTypeName(&v), member);
	return JsonbValueToJsonb(&v);
}

bool
WireBool(Jsonb *req, const char *member, bool *value)
{
	JsonbValue	v;

	if (!WireFind(req, member, &v))
		return false;
	if (v.type != jbvBool)
		WireSerializationError("%s can not be converted to a Boolean (member %s)",
							   WireTypeName(&v), member);
	*value = v.val.boolean;
	return true;
}

bool
WireInt(Jsonb *req, const char *member, int32 *value)
{
	JsonbValue	v;
	bool		overflow = false;
	int32		n = 0;

	if (!WireFind(req, member, &v))
		return false;
	if (v.type != jbvNumeric)
		WireSerializationError("%s can not be converted to an Integer (member %s)",
							   WireTypeName(&v), member);
	/* an integer, within int32 */
	if (!DatumGetBool(DirectFunctionCall2(numeric_eq, NumericGetDatum(v.val.numeric),
										  DirectFunctionCall2(numeric_trunc,
															  NumericGetDatum(v.val.numeric),
															  Int32GetDatum(0)))))
		overflow = true;
	else
	{
		n = numeric_int4_opt_error(v.val.numeric, &overflow);
	}
	if (overflow)
		WireSerializationError("NUMBER_VALUE can not be converted to an Integer (member %s)",
							   member);
	*value = n;
	return true;
}

/*
 * WireTableName reads and checks a table name member as DynamoDB does:
 * required, the name pattern and 3 to 255 characters, each a shape error.
 */
char *
WireTableName(Jsonb *req, const char *member, const char *path, bool required)
{
	char	   *name = WireString(req, member);
	KvShapeErrors errs = {0};
	int			len;

	if (name == NULL)
	{
		if (required)
			KvShapeAdd(&errs, NULL, path, "Member must not be null");
		KvShapeCheck(&errs);
		return NULL;
	}
	len = strlen(name);
	for (int i = 0; i < len; i++)
	{
		char		c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
		{
			KvShapeAdd(&errs, name, path,
					   "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
			break;
		}
	}
	if (len < 3)
		KvShapeAdd(&errs, name, path, "Member must have length greater than or equal to 3");
	else if (len > 255)
		KvShapeAdd(&errs, name, path, "Member must have length less than or equal to 255");
	KvShapeCheck(&errs);
	return name;
}

/* ---- building jsonb ---- */

static void
PushKey(JsonbParseState **ps, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(ps, WJB_KEY, &k);
}

static JsonbValue *
PushJsonb(JsonbParseState **ps, JsonbIteratorToken tok, Jsonb *j)
{
	JsonbValue	v;

	v.type = jbvBinary;
	v.val.binary.data = &j->root;
	v.val.binary.len = VARSIZE(j) - VARHDRSZ;
	return pushJsonbValue(ps, tok, &v);
}

Jsonb *
WireObjectOf(int n, const char *const *keys, Jsonb *const *values)
{
	JsonbParseState *ps = NULL;
	JsonbValue *res;

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < n; i++)
	{
		if (values[i] == NULL)
			continue;
		PushKey(&ps, keys[i]);
		PushJsonb(&ps, WJB_VALUE, values[i]);
	}
	res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

Jsonb *
WireWrap(const char *member, Jsonb *value)
{
	return WireObjectOf(1, &member, &value);
}

Jsonb *
WireEmptyObject(void)
{
	return WireObjectOf(0, NULL, NULL);
}

Jsonb *
WireStringJsonb(const char *s)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = strlen(s);
	return JsonbValueToJsonb(&v);
}

Jsonb *
WireMember(Jsonb *obj, const char *member)
{
	JsonbValue	v;

	if (!WireFind(obj, member, &v))
		return NULL;
	return JsonbValueToJsonb(&v);
}

Jsonb *
WireSet(Jsonb *obj, const char *member, Jsonb *value)
{
	if (value == NULL)
		return obj;
	return DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(obj),
											  JsonbPGetDatum(WireWrap(member, value))));
}

Jsonb *
WireDelete(Jsonb *obj, const char *member)
{
	return DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(obj),
											  CStringGetTextDatum(member)));
}

/* ---- typed <-> plain ---- */

static bool
KeyIs(const JsonbValue *k, const char *name)
{
	return k->val.string.len == strlen(name) &&
		memcmp(k->val.string.val, name, k->val.string.len) == 0;
}

/* MemberRole tells what the value of a request or response member holds. */
static WireRole
MemberRole(const JsonbValue *key, const JsonbValue *v, WireDir dir)
{
	if (KeyIs(key, "Item") || KeyIs(key, "Key"))
		return ROLE_ITEM;
	if (dir == WIRE_TO_PLAIN)
	{
		if (KeyIs(key, "ExpressionAttributeValues") || KeyIs(key, "ExclusiveStartKey"))
			return ROLE_ITEM;
		if (KeyIs(key, "Keys"))
			return ROLE_ITEMS;
		if (KeyIs(key, "RequestItems"))
			return ROLE_TABLE_MAP;
		return ROLE_WALK;
	}
	if (KeyIs(key, "Attributes") || KeyIs(key, "LastEvaluatedKey") ||
		KeyIs(key, "NewImage") || KeyIs(key, "OldImage"))
		return ROLE_ITEM;
	if (KeyIs(key, "Items"))
		return ROLE_ITEMS;
	/* a list of keys in batches, the Keys of a stream record */
	if (KeyIs(key, "Keys"))
		return IsContainerOf(v, true) ? ROLE_ITEMS : ROLE_ITEM;
	/* BatchGetItem's table -> items; TransactGetItems' list of {Item} */
	if (KeyIs(key, "Responses"))
		return IsContainerOf(v, false) ? ROLE_TABLE_ITEMS : ROLE_WALK;
	if (KeyIs(key, "UnprocessedItems") || KeyIs(key, "UnprocessedKeys"))
		return ROLE_TABLE_MAP;
	return ROLE_WALK;
}

static void WalkValue(JsonbParseState **ps, JsonbIteratorToken as,
					  JsonbValue *v, WireRole role, WireDir dir);

/*
 * WalkContainer pushes an object or array, converting the members whose
 * names say they hold items.  In a table map the member names are table
 * names and say nothing.
 */
static JsonbValue *
WalkContainer(JsonbParseState **ps, JsonbContainer *c, WireRole role, WireDir dir)
{
	JsonbIterator *it = JsonbIteratorInit(c);
	JsonbIteratorToken tok;
	JsonbValue	v;
	JsonbValue	key = {0};
	JsonbValue *res = NULL;

	check_stack_depth();
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_KEY:
				key = v;
				res = pushJsonbValue(ps, tok, &v);
				break;
			case WJB_VALUE:
				WalkValue(ps, tok, &v,
						  role == ROLE_TABLE_MAP ? ROLE_WALK :
						  role == ROLE_TABLE_ITEMS ? ROLE_ITEMS :
						  role == ROLE_ITEMS ? ROLE_ITEM :
						  MemberRole(&key, &v, dir), dir);
				break;
			case WJB_ELEM:
				WalkValue(ps, tok, &v, role == ROLE_ITEMS ? ROLE_ITEM : ROLE_WALK, dir);
				break;
			default:
				res = pushJsonbValue(ps, tok, tok < WJB_BEGIN_ARRAY ? &v : NULL);
				break;
		}
	}
	return res;
}

static void
WalkValue(JsonbParseState **ps, JsonbIteratorToken as, JsonbValue *v,
		  WireRole role, WireDir dir)
{
	Jsonb	   *in;
	Jsonb	   *out;

	switch (role)
	{
		case ROLE_ITEM:
			if (!IsContainerOf(v, false))
			{
				if (dir == WIRE_TO_PLAIN)
					WireSerializationError("%s can not be converted to a Map of AttributeValues",
										   WireTypeName(v));
				pushJsonbValue(ps, as, v);
				return;
			}
			in = JsonbValueToJsonb(v);
			out = (dir == WIRE_TO_PLAIN) ? KvFromDynamoJson(in) : KvToDynamoJson(in);
			PushJsonb(ps, as, out);
			return;
		case ROLE_ITEMS:
		case ROLE_TABLE_MAP:
		case ROLE_TABLE_ITEMS:
			if (!IsContainerOf(v, role == ROLE_ITEMS))
			{
				if (dir == WIRE_TO_PLAIN)
					WireSerializationError("%s can not be converted to a %s",
										   WireTypeName(v), role == ROLE_ITEMS ? "List" : "Map");
				pushJsonbValue(ps, as, v);
				return;
			}
			break;
		case ROLE_WALK:
			if (v->type != jbvBinary || JsonContainerIsScalar(v->val.binary.data))
			{
				pushJsonbValue(ps, as, v);
				return;
			}
			break;
	}
	(void) WalkContainer(ps, v->val.binary.data, role, dir);
}

static Jsonb *
WalkRoot(Jsonb *doc, WireDir dir)
{
	JsonbParseState *ps = NULL;

	return JsonbValueToJsonb(WalkContainer(&ps, &doc->root, ROLE_WALK, dir));
}

Jsonb *
WireRequestToPlain(Jsonb *req)
{
	return WalkRoot(req, WIRE_TO_PLAIN);
}

Jsonb *
WireResponseToTyped(Jsonb *resp)
{
	if (JB_ROOT_IS_SCALAR(resp))
		return resp;
	return WalkRoot(resp, WIRE_TO_TYPED);
}

/* ---- ARNs ---- */

char *
WireTableArn(const char *table)
{
	return psprintf("arn:aws:dynamodb:%s:%s:table/%s", kv_wire_region,
					kv_wire_account_id, table);
}

bool
WireParseStreamArn(const char *arn, char **table, char **label)
{
	const char *t = strstr(arn, ":table/");
	const char *s;

	if (strncmp(arn, "arn:", 4) != 0 || t == NULL)
		return false;
	t += strlen(":table/");
	s = strstr(t, "/stream/");
	if (s == NULL || s == t || s[strlen("/stream/")] == '\0')
		return false;
	*table = pnstrdup(t, s - t);
	*label = pstrdup(s + strlen("/stream/"));
	return true;
}
