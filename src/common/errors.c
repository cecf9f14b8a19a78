/*-------------------------------------------------------------------------
 *
 * errors.c
 *	  The DynamoDB error table and the builder of shape-validation
 *	  messages (see errors.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "errors.h"

#define KV_NS_DYNAMODB	"com.amazonaws.dynamodb.v20120810"
#define KV_NS_VALIDATE	"com.amazon.coral.validate"
#define KV_NS_SERVICE	"com.amazon.coral.service"

/*
 * DynamoDB's error types (SPEC-dynamodb.md §0.1 and §7).  The protocol
 * and authentication errors have no SQLSTATE: the transport raises them
 * itself, before or around the database call.
 */
static const KvErrorType kv_error_types[] = {
	{"ValidationException", KV_NS_VALIDATE, 400},
	{"ResourceNotFoundException", KV_NS_DYNAMODB, 400},
	{"ResourceInUseException", KV_NS_DYNAMODB, 400},
	{"ConditionalCheckFailedException", KV_NS_DYNAMODB, 400},
	{"TransactionCanceledException", KV_NS_DYNAMODB, 400},
	{"ProvisionedThroughputExceededException", KV_NS_DYNAMODB, 400},
	{"ItemCollectionSizeLimitExceededException", KV_NS_DYNAMODB, 400},
	{"TrimmedDataAccessException", KV_NS_DYNAMODB, 400},
	{"ExpiredIteratorException", KV_NS_DYNAMODB, 400},
	{"TransactionConflictException", KV_NS_DYNAMODB, 400},
	{"SerializationException", KV_NS_SERVICE, 400},
	{"UnknownOperationException", KV_NS_SERVICE, 400},
	{"MissingAuthenticationTokenException", KV_NS_SERVICE, 400},
	{"AccessDeniedException", KV_NS_SERVICE, 400},
	{"ThrottlingException", KV_NS_DYNAMODB, 400},
	{"InternalServerError", KV_NS_DYNAMODB, 500},
};

/* the SQLSTATEs of DESIGN §2.1 and the type each is raised for */
static const struct
{
	int			sqlerrcode;
	const char *type;
}			kv_error_codes[] = {
	{KV_ERRCODE_VALIDATION, "ValidationException"},
	{KV_ERRCODE_EXPRESSION_SYNTAX, "ValidationException"},
	{KV_ERRCODE_SIZE_LIMIT, "ValidationException"},
	{KV_ERRCODE_TABLE_NOT_FOUND, "ResourceNotFoundException"},
	{KV_ERRCODE_INDEX_NOT_FOUND, "ResourceNotFoundException"},
	{KV_ERRCODE_RESOURCE_IN_USE, "ResourceInUseException"},
	{KV_ERRCODE_CONDITIONAL_CHECK_FAILED, "ConditionalCheckFailedException"},
	{KV_ERRCODE_TRANSACTION_CANCELED, "TransactionCanceledException"},
	{KV_ERRCODE_THROUGHPUT_EXCEEDED, "ProvisionedThroughputExceededException"},
	{KV_ERRCODE_COLLECTION_SIZE_EXCEEDED, "ItemCollectionSizeLimitExceededException"},
	{KV_ERRCODE_TRIMMED_DATA_ACCESS, "TrimmedDataAccessException"},
	{KV_ERRCODE_EXPIRED_ITERATOR, "ExpiredIteratorException"},
	{KV_ERRCODE_TRANSACTION_CONFLICT, "TransactionConflictException"},
};

const KvErrorType *
KvErrorTypeByName(const char *name)
{
	for (int i = 0; i < lengthof(kv_error_types); i++)
	{
		if (strcmp(kv_error_types[i].name, name) == 0)
			return &kv_error_types[i];
	}
	return NULL;
}

const KvErrorType *
KvErrorTypeOf(int sqlerrcode)
{
	for (int i = 0; i < lengthof(kv_error_codes); i++)
	{
		if (kv_error_codes[i].sqlerrcode == sqlerrcode)
			return KvErrorTypeByName(kv_error_codes[i].type);
	}
	return NULL;
}

/*
 * KvWireErrorType: the DynamoDB type an error leaving the wire endpoint is
 * answered with.  Beyond the SQLSTATEs partkv raises, errors PostgreSQL
 * raises map to their closest type (the wire contract), and anything else
 * is an InternalServerError.
 */
const KvErrorType *
KvWireErrorType(int sqlerrcode, const char *message)
{
	const KvErrorType *type = KvErrorTypeOf(sqlerrcode);
	const char *name = "InternalServerError";

	/*
	 * The typed-JSON codec words a wrong JSON type inside an AttributeValue
	 * this way; the wire protocol calls that a SerializationException.
	 */
	if (sqlerrcode == KV_ERRCODE_VALIDATION && message != NULL &&
		strncmp(message, "Invalid DynamoDB JSON", strlen("Invalid DynamoDB JSON")) == 0)
		return KvErrorTypeByName("SerializationException");
	if (type != NULL)
		return type;
	if (sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE)
		name = "AccessDeniedException";
	else if (sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED ||
			 ERRCODE_TO_CATEGORY(sqlerrcode) == ERRCODE_TRANSACTION_ROLLBACK)
		name = "TransactionConflictException";
	else if (sqlerrcode == ERRCODE_FEATURE_NOT_SUPPORTED)
		name = "ValidationException";
	else if (sqlerrcode == ERRCODE_TOO_MANY_CONNECTIONS ||
			 sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ||
			 sqlerrcode == ERRCODE_QUERY_CANCELED)
		name = "ThrottlingException";
	return KvErrorTypeByName(name);
}

/* KvParseSqlstate reads a five-character SQLSTATE; -1 when it is none. */
static int
KvParseSqlstate(const char *str)
{
	if (strlen(str) != 5)
		return -1;
	for (int i = 0; i < 5; i++)
	{
		if (!((str[i] >= '0' && str[i] <= '9') ||
			  (str[i] >= 'A' && str[i] <= 'Z')))
			return -1;
	}
	return MAKE_SQLSTATE(str[0], str[1], str[2], str[3], str[4]);
}

PG_FUNCTION_INFO_V1(partkv_error_type);

/*
 * partkv_error_type: the DynamoDB error a SQLSTATE stands for, as a wire
 * endpoint answers it (name, "<namespace>#<name>", HTTP status); NULL when
 * the SQLSTATE is no DynamoDB error.
 */
Datum
partkv_error_type(PG_FUNCTION_ARGS)
{
	char	   *sqlstate = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int			code = KvParseSqlstate(sqlstate);
	const KvErrorType *type = code < 0 ? NULL : KvErrorTypeOf(code);
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (type == NULL)
		PG_RETURN_NULL();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "partkv.error_type must return a record");
	desc = BlessTupleDesc(desc);
	values[0] = CStringGetTextDatum(type->name);
	values[1] = CStringGetTextDatum(psprintf("%s#%s", type->ns, type->name));
	values[2] = Int32GetDatum(type->http_status);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/*
 * KvErrcodeFor gives the SQLSTATE to raise DynamoDB error type with: its
 * first in kv_error_codes, or sqlstate when it is one of the type's (a type
 * with several, e.g. ResourceNotFoundException for a table or an index);
 * -1 when there is none.
 */
static int
KvErrcodeFor(const char *type, const char *sqlstate)
{
	int			wanted = sqlstate == NULL ? 0 : KvParseSqlstate(sqlstate);

	for (int i = 0; i < lengthof(kv_error_codes); i++)
	{
		if (strcmp(kv_error_codes[i].type, type) == 0 &&
			(sqlstate == NULL || kv_error_codes[i].sqlerrcode == wanted))
			return kv_error_codes[i].sqlerrcode;
	}
	return -1;
}

PG_FUNCTION_INFO_V1(partkv_raise_error);

/*
 * partkv_raise_error: partkv_internal.raise_error(error_type, message,
 * detail, hint, sqlstate) is how the install script's SQL functions raise a
 * DynamoDB error, so that they and the C code raise each one alike: with
 * the SQLSTATE this module gives it.  The message is the caller's, already
 * worded like DynamoDB's.
 */
Datum
partkv_raise_error(PG_FUNCTION_ARGS)
{
	char	   *type;
	char	   *sqlstate;
	int			code;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		elog(ERROR, "partkv_internal.raise_error: the error type and message must not be NULL");
	type = text_to_cstring(PG_GETARG_TEXT_PP(0));
	sqlstate = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	code = KvErrcodeFor(type, sqlstate);
	if (code < 0)
		elog(ERROR, "partkv_internal.raise_error: %s is no DynamoDB error partkv raises%s%s",
			 type, sqlstate ? " with SQLSTATE " : "", sqlstate ? sqlstate : "");
	ereport(ERROR,
			(errcode(code),
			 errmsg_internal("%s", text_to_cstring(PG_GETARG_TEXT_PP(1))),
			 PG_ARGISNULL(2) ? 0 :
			 errdetail_internal("%s", text_to_cstring(PG_GETARG_TEXT_PP(2))),
			 PG_ARGISNULL(3) ? 0 :
			 errhint("%s", text_to_cstring(PG_GETARG_TEXT_PP(3)))));
	PG_RETURN_VOID();
}

/* KvShapePush keeps the first errors: DynamoDB lists no more than ten. */
static void
KvShapePush(KvShapeErrors *errs, char *msg)
{
	if (errs->n < lengthof(errs->msg))
		errs->msg[errs->n++] = msg;
}

void
KvShapeAdd(KvShapeErrors *errs, const char *value, const char *path,
		   const char *constraint)
{
	if (value == NULL)
		KvShapePush(errs, psprintf("Value null at '%s' failed to satisfy constraint: %s",
								   path, constraint));
	else
		KvShapePush(errs, psprintf("Value '%s' at '%s' failed to satisfy constraint: %s",
								   value, path, constraint));
}

void
KvShapeAddElided(KvShapeErrors *errs, const char *path, const char *constraint)
{
	KvShapePush(errs, psprintf("Value at '%s' failed to satisfy constraint: %s",
							   path, constraint));
}

void
KvShapeCheck(const KvShapeErrors *errs)
{
	StringInfoData buf;

	if (errs->n == 0)
		return;
	initStringInfo(&buf);
	appendStringInfo(&buf, "%d validation error%s detected: ", errs->n,
					 errs->n == 1 ? "" : "s");
	for (int i = 0; i < errs->n; i++)
		appendStringInfo(&buf, "%s%s", i > 0 ? "; " : "", errs->msg[i]);
	KvValidationError("%s", buf.data);
}

void
KvShapeError(const char *value, const char *path, const char *constraint)
{
	KvShapeErrors errs = {0};

	KvShapeAdd(&errs, value, path, constraint);
	KvShapeCheck(&errs);
	pg_unreachable();
}

void
KvShapeErrorElided(const char *path, const char *constraint)
{
	KvShapeErrors errs = {0};

	KvShapeAddElided(&errs, path, constraint);
	KvShapeCheck(&errs);
	pg_unreachable();
}
