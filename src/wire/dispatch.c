/*-------------------------------------------------------------------------
 *
 * dispatch.c
 *	  partkv.dynamodb(operation, request): the operation table, the entry
 *	  point, the calls into the SQL API, and the one place where errors
 *	  get their wire body (DETAIL) for the transport.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "catalog/pg_type.h"
#include "access/tupdesc.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "utils/tuplestore.h"
#include "funcapi.h"
#include "nodes/execnodes.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "../common/errors.h"
#include "wire.h"

PG_FUNCTION_INFO_V1(partkv_dynamodb);

char	   *kv_wire_region = NULL;
char	   *kv_wire_account_id = NULL;

/* service prefixes of X-Amz-Target */
#define WIRE_PREFIX_DYNAMODB	"DynamoDB_20120810."
#define WIRE_PREFIX_STREAMS		"DynamoDBStreams_20120810."

typedef struct WireOpEntry
{
	const char *name;
	WireOperation run;			/* NULL: known, refused for now */
} WireOpEntry;

static const WireOpEntry wire_ops[] = {
	{"CreateTable", WireCreateTable},
	{"DeleteTable", WireDeleteTable},
	{"DescribeTable", WireDescribeTable},
	{"ListTables", WireListTables},
	{"UpdateTable", WireUpdateTable},
	{"PutItem", WirePutItem},
	{"GetItem", WireGetItem},
	{"UpdateItem", WireUpdateItem},
	{"DeleteItem", WireDeleteItem},
	{"Query", WireQuery},
	{"Scan", WireScan},
	{"BatchGetItem", WireBatchGetItem},
	{"BatchWriteItem", WireBatchWriteItem},
	{"TransactGetItems", WireTransactGetItems},
	{"TransactWriteItems", WireTransactWriteItems},
	{"UpdateTimeToLive", WireUpdateTimeToLive},
	{"DescribeTimeToLive", WireDescribeTimeToLive},
	{"DescribeLimits", WireDescribeLimits},
	{"DescribeEndpoints", WireDescribeEndpoints},
	{"ListStreams", WireListStreams},
	{"DescribeStream", WireDescribeStream},
	{"GetShardIterator", WireGetShardIterator},
	{"GetRecords", WireGetRecords},
	{"TagResource", NULL},
	{"UntagResource", NULL},
	{"ListTagsOfResource", NULL},
	{"ExecuteStatement", NULL},
	{"BatchExecuteStatement", NULL},
	{"ExecuteTransaction", NULL},
};

void
KvWireInit(void)
{
	DefineCustomStringVariable("partkv.region",
							   "AWS region partkv.dynamodb() names in ARNs and stream records.",
							   NULL, &kv_wire_region, "us-east-1",
							   PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("partkv.account_id",
							   "AWS account id partkv.dynamodb() names in ARNs.",
							   NULL, &kv_wire_account_id, "000000000000",
							   PGC_USERSET, 0, NULL, NULL, NULL);
}

/* ---- calling the API ---- */

/*
 * WireCallC runs a C entry point of the SQL API as the executor would,
 * with a local fcinfo: the wire and SQL share the function, not a copy.
 */
Datum
WireCallC(PGFunction fn, int nargs, const Datum *args, const bool *nulls,
		  bool *isnull)
{
	LOCAL_FCINFO(fcinfo, FUNC_MAX_ARGS);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, nargs, InvalidOid, NULL, NULL);
	for (int i = 0; i < nargs; i++)
	{
		fcinfo->args[i].value = args[i];
		fcinfo->args[i].isnull = nulls[i];
	}
	result = fn(fcinfo);
	*isnull = fcinfo->isnull;
	return result;
}

/* OIDs of the SQL API functions, looked up once per backend */
typedef struct WireSqlFunc
{
	const char *name;
	Oid			oid;
} WireSqlFunc;

#define WIRE_MAX_SQL_FUNCS 16
static WireSqlFunc wire_funcs[WIRE_MAX_SQL_FUNCS];
static int	wire_nfuncs = 0;
static bool wire_callback_registered = false;

/* a changed pg_proc (an ALTER EXTENSION UPDATE) may change the OIDs */
static void
WireProcInvalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	wire_nfuncs = 0;
}

static Oid
WireFunctionOid(const char *name, int nargs, const Oid *argtypes)
{
	Oid			oid;

	if (!wire_callback_registered)
	{
		CacheRegisterSyscacheCallback(PROCOID, WireProcInvalidate, (Datum) 0);
		wire_callback_registered = true;
	}
	for (int i = 0; i < wire_nfuncs; i++)
	{
		if (strcmp(wire_funcs[i].name, name) == 0)
			return wire_funcs[i].oid;
	}
	oid = LookupFuncName(list_make2(makeString("partkv"), makeString(pstrdup(name))),
						 nargs, argtypes, false);
	if (wire_nfuncs < WIRE_MAX_SQL_FUNCS)
	{
		/* name is a literal of the caller's: it outlives the cache */
		wire_funcs[wire_nfuncs].name = name;
		wire_funcs[wire_nfuncs].oid = oid;
		wire_nfuncs++;
	}
	return oid;
}

/*
 * WireCallSql runs a SQL API function written in SQL or PL/pgSQL through
 * fmgr, by OID: its rules stay where they are written.
 */
Datum
WireCallSql(const char *name, int nargs, const Oid *argtypes,
			const Datum *args, const bool *nulls, bool *isnull)
{
	Oid			oid = WireFunctionOid(name, nargs, argtypes);
	FmgrInfo	flinfo;
	LOCAL_FCINFO(fcinfo, FUNC_MAX_ARGS);
	Datum		result;

	fmgr_info(oid, &flinfo);
	InitFunctionCallInfoData(*fcinfo, &flinfo, nargs, InvalidOid, NULL, NULL);
	for (int i = 0; i < nargs; i++)
	{
		fcinfo->args[i].value = args[i];
		fcinfo->args[i].isnull = nulls[i];
	}
	result = FunctionCallInvoke(fcinfo);
	*isnull = fcinfo->isnull;
	return result;
}

/* the first column of a materialized set, as C strings */
static List *
WireTuplestoreTexts(ReturnSetInfo *rsi, bool *isnull_any)
{
	List	   *values = NIL;
	TupleTableSlot *slot;

	if (rsi->setResult == NULL)
		return NIL;
	slot = MakeSingleTupleTableSlot(rsi->setDesc ? rsi->setDesc : rsi->expectedDesc,
									&TTSOpsMinimalTuple);
	while (tuplestore_gettupleslot(rsi->setResult, true, false, slot))
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, 1, &isnull);

		if (isnull)
			*isnull_any = true;
		else
			values = lappend(values, TextDatumGetCString(d));
	}
	ExecDropSingleTupleTableSlot(slot);
	tuplestore_end(rsi->setResult);
	return values;
}

/*
 * WireCallSqlSet runs a set-returning SQL API function without arguments
 * and returns its values (as C strings: list_tables returns text).
 */
List *
WireCallSqlSet(const char *name, bool *isnull_any)
{
	Oid			oid = WireFunctionOid(name, 0, NULL);
	FmgrInfo	flinfo;
	LOCAL_FCINFO(fcinfo, 0);
	ReturnSetInfo rsi;
	List	   *values = NIL;

	*isnull_any = false;
	fmgr_info(oid, &flinfo);
	memset(&rsi, 0, sizeof(rsi));
	rsi.type = T_ReturnSetInfo;
	rsi.econtext = CreateStandaloneExprContext();
	/* SQL functions insist on being offered both modes */
	rsi.allowedModes = SFRM_ValuePerCall | SFRM_Materialize;
	rsi.expectedDesc = CreateTemplateTupleDesc(1);
	TupleDescInitEntry(rsi.expectedDesc, (AttrNumber) 1, "value", TEXTOID, -1, 0);
	InitFunctionCallInfoData(*fcinfo, &flinfo, 0, InvalidOid, NULL, (Node *) &rsi);
	for (;;)
	{
		Datum		d;

		rsi.isDone = ExprSingleResult;
		rsi.returnMode = SFRM_ValuePerCall;
		fcinfo->isnull = false;
		d = FunctionCallInvoke(fcinfo);
		if (rsi.returnMode == SFRM_Materialize)
		{
			values = list_concat(values, WireTuplestoreTexts(&rsi, isnull_any));
			break;
		}
		if (rsi.isDone == ExprEndResult)
			break;
		if (fcinfo->isnull)
			*isnull_any = true;
		else
			values = lappend(values, TextDatumGetCString(d));
		if (rsi.isDone == ExprSingleResult)
			break;
	}
	FreeExprContext(rsi.econtext, true);
	return values;
}

/* ---- errors ---- */

/* WireParseDetail reads DETAIL as a JSON object; NULL when it is none */
static Jsonb *
WireParseDetail(const char *detail)
{
	Jsonb	   *j;

	JsonLexContext *lex;

	/* DETAIL is JSON when partkv put structured members there, else prose */
	if (detail == NULL || detail[0] != '{')
		return NULL;
	lex = makeJsonLexContextCstringLen((char *) detail, strlen(detail),
									   GetDatabaseEncoding(), false);
	if (pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
		return NULL;
	j = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(detail)));
	return JB_ROOT_IS_OBJECT(j) && !JB_ROOT_IS_SCALAR(j) ? j : NULL;
}

/*
 * WireErrorBody builds the wire body of an error: DynamoDB's type for its
 * SQLSTATE, its message, and the structured members of its DETAIL with
 * their items typed.  An error the wire layer raised has its body already.
 */
static char *
WireErrorBody(ErrorData *edata)
{
	Jsonb	   *detail = NULL;
	const KvErrorType *type;
	const char *message;
	Jsonb	   *body;
	const char *keys[2] = {"__type", "message"};
	Jsonb	   *values[2];

	detail = WireParseDetail(edata->detail);
	if (detail != NULL && WireHas(detail, "__type"))
		return edata->detail;

	type = KvWireErrorType(edata->sqlerrcode, edata->message);
	if (strcmp(type->name, "InternalServerError") == 0)
	{
		/* the original stays in the server log, not on the wire */
		ereport(LOG,
				(errmsg_internal("partkv.dynamodb: %s: %s",
								 unpack_sql_state(edata->sqlerrcode),
								 edata->message ? edata->message : "")));
		message = "Internal server error";
		detail = NULL;
	}
	else
		message = edata->message ? edata->message : "";

	values[0] = WireStringJsonb(psprintf("%s#%s", type->ns, type->name));
	values[1] = WireStringJsonb(message);
	body = WireObjectOf(2, keys, values);
	if (detail != NULL)
	{
		/* CancellationReasons, Item ...: typed as the wire has them */
		detail = WireResponseToTyped(detail);
		body = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(body),
												  JsonbPGetDatum(detail)));
	}
	return JsonbToCString(NULL, &body->root, VARSIZE(body));
}

/* WireRethrow raises the error again with its wire body in DETAIL. */
static void
WireRethrow(ErrorData *edata)
{
	char	   *body = WireErrorBody(edata);
	Jsonb	   *parsed = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(body)));
	char	   *message = WireString(parsed, "message");

	ereport(ERROR,
			(errcode(edata->sqlerrcode),
			 errmsg_internal("%s", message ? message : ""),
			 errdetail_internal("%s", body),
			 edata->hint ? errhint("%s", edata->hint) : 0));
}

/* ---- dispatch ---- */

static void
WireUnknownOperation(const char *operation)
{
	const KvErrorType *type = KvErrorTypeByName("UnknownOperationException");
	const char *keys[2] = {"__type", "message"};
	Jsonb	   *values[2];
	Jsonb	   *body;

	values[0] = WireStringJsonb(psprintf("%s#%s", type->ns, type->name));
	values[1] = WireStringJsonb(psprintf("Unknown operation %s", operation));
	body = WireObjectOf(2, keys, values);
	ereport(ERROR,
			(errcode(WIRE_ERRCODE_UNKNOWN_OPERATION),
			 errmsg("Unknown operation %s", operation),
			 errdetail_internal("%s", JsonbToCString(NULL, &body->root, VARSIZE(body)))));
}

static Jsonb *
WireDispatch(const char *operation, Jsonb *request)
{
	const char *name = operation;

	if (strncmp(name, WIRE_PREFIX_DYNAMODB, strlen(WIRE_PREFIX_DYNAMODB)) == 0)
		name += strlen(WIRE_PREFIX_DYNAMODB);
	else if (strncmp(name, WIRE_PREFIX_STREAMS, strlen(WIRE_PREFIX_STREAMS)) == 0)
		name += strlen(WIRE_PREFIX_STREAMS);

	for (int i = 0; i < lengthof(wire_ops); i++)
	{
		if (strcmp(wire_ops[i].name, name) != 0)
			continue;
		if (wire_ops[i].run == NULL)
			WireUnsupported(psprintf("partkv does not support the %s operation yet", name));
		if (request == NULL)
			request = WireEmptyObject();
		if (JB_ROOT_IS_SCALAR(request) || !JB_ROOT_IS_OBJECT(request))
			WireSerializationError("Start of structure or map found where not expected");
		return wire_ops[i].run(request);
	}
	WireUnknownOperation(operation);
	pg_unreachable();
}

/*
 * partkv_dynamodb: partkv.dynamodb(operation text, request jsonb) -> jsonb,
 * the wire response body; a failure is an error whose DETAIL is the wire
 * error body (the contract with partkv-server).
 */
Datum
partkv_dynamodb(PG_FUNCTION_ARGS)
{
	char	   *operation = PG_ARGISNULL(0) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(0));
	Jsonb	   *request = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	Jsonb	   *result = NULL;

	/* each request's garbage goes at once, however long the statement */
	work = AllocSetContextCreate(caller, "partkv.dynamodb", ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		Jsonb	   *response;

		MemoryContextSwitchTo(work);
		response = WireDispatch(operation, request);
		MemoryContextSwitchTo(caller);
		result = (Jsonb *) datumCopy(JsonbPGetDatum(response), false, -1);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		/* a cancel or termination is no DynamoDB error to rebuild */
		if (edata->elevel > ERROR)
			PG_RE_THROW();
		FlushErrorState();
		WireRethrow(edata);
	}
	PG_END_TRY();
	MemoryContextDelete(work);
	PG_RETURN_JSONB_P(result);
}
