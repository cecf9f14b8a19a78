/*-------------------------------------------------------------------------
 *
 * batchreq.h
 *	  What the batch and transactional calls share: reading DynamoDB's
 *	  request shapes (plain-JSON items), item identities for the
 *	  distinct-item rules, capacity accounting and response pieces.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_BATCHREQ_H
#define PARTKV_BATCHREQ_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/jsonb.h"

#include "../catalog/tablecache.h"
#include "../stats/capacity.h"
#include "../storage/tableam.h"

extern JsonbValue *KvMember(JsonbValue *object, const char *name);
extern bool KvIsObject(const JsonbValue *v);
extern bool KvIsArray(const JsonbValue *v);
extern Jsonb *KvAsJsonb(JsonbValue *v);
extern char *KvMemberText(JsonbValue *object, const char *name);
extern Jsonb *KvMemberJsonb(JsonbValue *object, const char *name);
extern void KvRootValue(Jsonb *j, JsonbValue *out);
extern KvTable *KvTableByName(const char *name, AclMode required);
extern char *KvKeyIdentity(const KvTable *table, const Datum *keys);
extern int	KvCompareStrings(const void *a, const void *b);
extern void KvCheckDistinct(char **identities, int n, const char *message);
extern JsonbValue *KvRequestItems(Jsonb *request, JsonbValue *root);
extern KvReturnCapacity KvRequestCapacity(FunctionCallInfo fcinfo,
										  JsonbValue *root);
extern void KvAccountRead(KvCapacity *cap, const KvTable *table,
						  const KvPartition *part, const char *name,
						  Jsonb *item, bool consistent, bool transactional);
extern void KvPushJsonb(JsonbParseState **state, JsonbIteratorToken as, Jsonb *j);
extern Jsonb *KvEmptyResponse(const char *member);

#endif							/* PARTKV_BATCHREQ_H */
