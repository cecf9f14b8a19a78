/*-------------------------------------------------------------------------
 *
 * dynamojson.h
 *	  The edge codec between DynamoDB's typed JSON ({"S": "x"},
 *	  {"M": {...}}, {"NS": ["1"]}) and partkv's plain-JSON items, for whole
 *	  items and for single AttributeValues.  Lossless both ways; every
 *	  result is validated (all but the 400 KB item size, which writes
 *	  enforce) and canonical.  Errors are raised as DynamoDB's
 *	  ValidationException (KV_ERRCODE_VALIDATION) with its wording.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_DYNAMOJSON_H
#define PARTKV_DYNAMOJSON_H

#include "postgres.h"
#include "utils/jsonb.h"

/* plain-JSON item (a jsonb object) -> typed-JSON item */
extern Jsonb *KvToDynamoJson(Jsonb *item);

/* typed-JSON item (an object of AttributeValues) -> plain-JSON item */
extern Jsonb *KvFromDynamoJson(Jsonb *typed);

/*
 * One plain-JSON value (any JsonbValue form: scalar, in-memory or binary
 * container) -> its AttributeValue, a one-member jsonb object.
 */
extern Jsonb *KvValueToDynamoJson(const JsonbValue *value);

/*
 * One AttributeValue (a jsonb object such as {"N": "1"}, in any
 * JsonbValue form) -> its plain-JSON value, as a JsonbValue in
 * CurrentMemoryContext (a scalar, or jbvBinary for maps, lists, binary
 * values and sets).
 */
extern JsonbValue *KvValueFromDynamoJson(const JsonbValue *attribute_value);

#endif							/* PARTKV_DYNAMOJSON_H */
