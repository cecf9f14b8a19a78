/*-------------------------------------------------------------------------
 *
 * errors.h
 *	  partkv's SQLSTATEs: one place mapping each DynamoDB exception to the
 *	  PostgreSQL error code it is raised with (DESIGN §2.1).
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

#endif							/* PARTKV_ERRORS_H */
