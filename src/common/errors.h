/*-------------------------------------------------------------------------
 *
 * errors.h
 *	  partkv's error module: each DynamoDB exception, the PostgreSQL error
 *	  code it is raised with (DESIGN §2.1), the one way to raise it, and the
 *	  builder of DynamoDB's "N validation errors detected" messages.
 *
 * A DynamoDB error travels as a PostgreSQL error: its SQLSTATE says which
 * DynamoDB exception it is (KvErrorTypeOf maps it back, for the wire
 * endpoint), its message is DynamoDB's wording, and structured members
 * (CancellationReasons, Item) ride in DETAIL as JSON.
 *
 * Raise an error with the macro of its class, printf-style:
 *		KvValidationError("The provided key element does not match the schema");
 * An error that also carries DETAIL or HINT is an ereport() with the
 * KV_ERRCODE_* of its class.
 *
 * src/expr/ builds without the server (it is fuzzed standalone) and must
 * not include this header.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_ERRORS_H
#define PARTKV_ERRORS_H

#include "utils/elog.h"

/* ValidationException */
#define KV_ERRCODE_VALIDATION			ERRCODE_INVALID_PARAMETER_VALUE	/* 22023 */
#define KV_ERRCODE_EXPRESSION_SYNTAX	ERRCODE_SYNTAX_ERROR	/* 42601 */
#define KV_ERRCODE_SIZE_LIMIT			ERRCODE_PROGRAM_LIMIT_EXCEEDED	/* 54000 */

/* ResourceNotFoundException */
#define KV_ERRCODE_TABLE_NOT_FOUND		ERRCODE_UNDEFINED_TABLE /* 42P01 */
#define KV_ERRCODE_INDEX_NOT_FOUND		ERRCODE_UNDEFINED_OBJECT	/* 42704 */

/* ResourceInUseException */
#define KV_ERRCODE_RESOURCE_IN_USE		ERRCODE_DUPLICATE_TABLE /* 42P07 */

/* partkv's own class KV */
#define KV_ERRCODE_CONDITIONAL_CHECK_FAILED	MAKE_SQLSTATE('K','V','0','0','1')
#define KV_ERRCODE_TRANSACTION_CANCELED		MAKE_SQLSTATE('K','V','0','0','2')
#define KV_ERRCODE_THROUGHPUT_EXCEEDED		MAKE_SQLSTATE('K','V','0','0','3')
#define KV_ERRCODE_COLLECTION_SIZE_EXCEEDED	MAKE_SQLSTATE('K','V','0','0','4')
/* DynamoDB Streams (raised by the stream's SQL functions) */
#define KV_ERRCODE_TRIMMED_DATA_ACCESS		MAKE_SQLSTATE('K','V','0','0','5')
#define KV_ERRCODE_EXPIRED_ITERATOR			MAKE_SQLSTATE('K','V','0','0','6')

/* TransactionConflictException */
#define KV_ERRCODE_TRANSACTION_CONFLICT	ERRCODE_T_R_SERIALIZATION_FAILURE	/* 40001 */

/*
 * DynamoDB prefixes most item-level validation messages with this phrase;
 * messages are kept close to DynamoDB's so users can search for them.
 */
#define KV_INVALID_PARAMS "One or more parameter values were invalid: "

/*
 * One raising macro per class.  The arguments are errmsg()'s: a format
 * and its values (a message built elsewhere is passed as "%s", msg).  A
 * macro, not a function, so that the error names the caller's file and
 * line and the compiler knows it does not return.
 */
#define KvRaise(sqlstate, ...) \
	ereport(ERROR, (errcode(sqlstate), errmsg(__VA_ARGS__)))

#define KvValidationError(...)		KvRaise(KV_ERRCODE_VALIDATION, __VA_ARGS__)
#define KvExpressionSyntaxError(...) KvRaise(KV_ERRCODE_EXPRESSION_SYNTAX, __VA_ARGS__)
#define KvSizeLimitError(...)		KvRaise(KV_ERRCODE_SIZE_LIMIT, __VA_ARGS__)
#define KvTableNotFoundError(...)	KvRaise(KV_ERRCODE_TABLE_NOT_FOUND, __VA_ARGS__)
#define KvIndexNotFoundError(...)	KvRaise(KV_ERRCODE_INDEX_NOT_FOUND, __VA_ARGS__)
#define KvResourceInUseError(...)	KvRaise(KV_ERRCODE_RESOURCE_IN_USE, __VA_ARGS__)
#define KvConditionalCheckFailedError(...) \
	KvRaise(KV_ERRCODE_CONDITIONAL_CHECK_FAILED, __VA_ARGS__)
#define KvTransactionCanceledError(...) \
	KvRaise(KV_ERRCODE_TRANSACTION_CANCELED, __VA_ARGS__)
#define KvThroughputExceededError(...) \
	KvRaise(KV_ERRCODE_THROUGHPUT_EXCEEDED, __VA_ARGS__)
#define KvCollectionSizeExceededError(...) \
	KvRaise(KV_ERRCODE_COLLECTION_SIZE_EXCEEDED, __VA_ARGS__)
#define KvTrimmedDataAccessError(...) \
	KvRaise(KV_ERRCODE_TRIMMED_DATA_ACCESS, __VA_ARGS__)
#define KvExpiredIteratorError(...)	KvRaise(KV_ERRCODE_EXPIRED_ITERATOR, __VA_ARGS__)
#define KvTransactionConflictError(...) \
	KvRaise(KV_ERRCODE_TRANSACTION_CONFLICT, __VA_ARGS__)

/*
 * A DynamoDB error type as the wire protocol names it: the JSON error body
 * is {"__type": "<ns>#<name>", "message": ...} with HTTP status http_status.
 */
typedef struct KvErrorType
{
	const char *name;			/* "ValidationException" */
	const char *ns;				/* "com.amazon.coral.validate" */
	int			http_status;
} KvErrorType;

/* the type of a partkv SQLSTATE; NULL when it is no DynamoDB error */
extern const KvErrorType *KvErrorTypeOf(int sqlerrcode);

/*
 * the type the wire endpoint answers an error with: KvErrorTypeOf, the
 * closest type for PostgreSQL's own errors, else InternalServerError
 */
extern const KvErrorType *KvWireErrorType(int sqlerrcode, const char *message);

/* a type by its name, e.g. the transport's own SerializationException */
extern const KvErrorType *KvErrorTypeByName(const char *name);

/*
 * DynamoDB's shape-validation errors: one "Value ... at '<path>' failed to
 * satisfy constraint: ..." per bad request member, raised together as
 * "N validation error(s) detected: a; b".
 */
#define KV_SHAPE_MAX_ERRORS 10	/* DynamoDB lists at most ten */

typedef struct KvShapeErrors
{
	int			n;
	char	   *msg[KV_SHAPE_MAX_ERRORS];
} KvShapeErrors;

/*
 * value is the bad value as DynamoDB prints it, quoted in the message;
 * NULL prints "null" (a missing member).  KvShapeAddElided leaves the value
 * out, as partkv does for collections.
 */
extern void KvShapeAdd(KvShapeErrors *errs, const char *value,
					   const char *path, const char *constraint);
extern void KvShapeAddElided(KvShapeErrors *errs, const char *path,
							 const char *constraint);
/* raises a ValidationException when any error was added */
extern void KvShapeCheck(const KvShapeErrors *errs);

/* raises the one shape error at once */
extern void KvShapeError(const char *value, const char *path,
						 const char *constraint) pg_attribute_noreturn();
extern void KvShapeErrorElided(const char *path,
							   const char *constraint) pg_attribute_noreturn();

#endif							/* PARTKV_ERRORS_H */
