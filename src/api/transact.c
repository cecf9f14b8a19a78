/*-------------------------------------------------------------------------
 *
 * transact.c
 *	  TransactWriteItems and TransactGetItems (SPEC-dynamodb.md §6): all or
 *	  nothing in the caller's transaction; a cancelled transaction raises
 *	  TransactionCanceledException with its CancellationReasons, which undoes
 *	  whatever it had written.
 *
 *-------------------------------------------------------------------------
 */

#include "postgres.h"

#include "common/md5.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/snapmgr.h"

#include "../catalog/tablecache.h"
#include "../common/errors.h"
#include "../common/jsonbuild.h"
#include "../eval/eval.h"
#include "../stats/capacity.h"
#include "../stats/stats.h"
#include "../storage/item.h"
#include "../storage/rowops.h"
#include "../storage/tableam.h"
#include "api.h"
#include "itemops.h"
#include "batchreq.h"

PG_FUNCTION_INFO_V1(partkv_transact_write_items);
PG_FUNCTION_INFO_V1(partkv_transact_get_items);

#define KV_TRANSACT_MAX_ITEMS		100
#define KV_TRANSACT_MAX_BYTES		(4 * 1024 * 1024)

/*
 * DynamoDB's refusal of a transaction over 4 MB.  SPEC-dynamodb.md gives
 * the limit but not the words; this is the service's as far as known (a
 * conformance test against DynamoDB matches "size cannot exceed", and the
 * service calls the request its "transaction payload").
 */
#define KV_TRANSACT_TOO_LARGE		"Transaction payload size cannot exceed 4 MB"

/* ----------------------------------------------------------------
 * TransactWriteItems
 * ----------------------------------------------------------------
 */

/* one action of a TransactWriteItems request */
typedef struct KvTransactAction
{
	KvItemOp	op;
	bool		return_item_on_failure;
	char	   *table_name;		/* as the request named it */
	char	   *identity;
	const char *code;			/* cancellation reason code, "None" when fine */
	int64		size;			/* what it adds to the transaction's size */
} KvTransactAction;

/*
 * KvActionSize is what one action adds to a transaction's size, by
 * DynamoDB's item size rule: its item (Put) or key, its table name,
 * expressions, names and values.  DynamoDB limits the request, not the
 * items it reaches: a Delete of a large item costs only its key.
 */
static int64
KvActionSize(const KvItemOp *op, const char *table_name, const KvExprTexts *texts,
			 Jsonb *names)
{
	int64		size = KvItemSize(op->item) + strlen(table_name);

	for (int k = 0; k < KVEXPR_NKINDS; k++)
		if (texts->text[k] != NULL)
			size += strlen(texts->text[k]);
	if (names != NULL)
		size += KvItemSize(names);
	if (op->exprs != NULL && op->exprs->values != NULL)
		size += KvItemSize(op->exprs->values);
	return size;
}

/* KvParseAction reads one TransactItems entry into an op. */
static void
KvParseAction(JsonbValue *entry, KvTransactAction *action)
{
	static const char *const kinds[] = {"Put", "Update", "Delete", "ConditionCheck"};
	JsonbValue *body = NULL;
	int			kind = -1;
	KvExprTexts texts = {{0}};
	char	   *table_name;
	char	   *on_failure;
	AclMode		required = 0;
	KvItemOp   *op = &action->op;
	Jsonb	   *names;

	for (int k = 0; k < lengthof(kinds); k++)
	{
		JsonbValue *b = KvMember(entry, kinds[k]);

		if (b == NULL)
			continue;
		if (body != NULL)
			KvValidationError("TransactItems can only contain one of Check, Put, Update or Delete");
		body = b;
		kind = k;
	}
	if (body == NULL || !KvIsObject(body))
		KvValidationError("TransactItems can only contain one of Check, Put, Update or Delete");

	op->kind = (kind == 0) ? KV_OP_PUT : (kind == 1) ? KV_OP_UPDATE :
		(kind == 2) ? KV_OP_DELETE : KV_OP_CHECK;
	texts.text[KVEXPR_CONDITION] = KvMemberText(body, "ConditionExpression");
	if (op->kind == KV_OP_UPDATE)
	{
		texts.text[KVEXPR_UPDATE] = KvMemberText(body, "UpdateExpression");
		if (texts.text[KVEXPR_UPDATE] == NULL)
			KvShapeError(NULL, "transactItems.member.update.updateExpression",
						 "Member must not be null");
	}
	if (op->kind == KV_OP_CHECK && texts.text[KVEXPR_CONDITION] == NULL)
		KvShapeError(NULL, "transactItems.member.conditionCheck.conditionExpression",
					 "Member must not be null");
	names = KvMemberJsonb(body, "ExpressionAttributeNames");
	if (texts.text[KVEXPR_CONDITION] || texts.text[KVEXPR_UPDATE] ||
		names != NULL || KvMember(body, "ExpressionAttributeValues"))
		op->exprs = KvExprCompile(&texts, names,
								  KvMemberJsonb(body, "ExpressionAttributeValues"));

	on_failure = KvMemberText(body, "ReturnValuesOnConditionCheckFailure");
	if (on_failure != NULL && strcmp(on_failure, "ALL_OLD") != 0 && strcmp(on_failure, "NONE") != 0)
		KvShapeError(on_failure, "returnValuesOnConditionCheckFailure",
					 "Member must satisfy enum value set: [ALL_OLD, NONE]");
	action->return_item_on_failure = (on_failure != NULL && strcmp(on_failure, "ALL_OLD") == 0);

	switch (op->kind)
	{
		case KV_OP_PUT:
			required = ACL_INSERT | ACL_UPDATE;
			break;
		case KV_OP_UPDATE:
			required = ACL_SELECT | ACL_INSERT | ACL_UPDATE;
			break;
		case KV_OP_DELETE:
			required = ACL_DELETE;
			break;
		case KV_OP_CHECK:
			required = ACL_SELECT;
			break;
	}
	if (op->exprs != NULL && KvExprHas(op->exprs, KVEXPR_CONDITION))
		required |= ACL_SELECT;
	table_name = KvMemberText(body, "TableName");
	op->table = KvTableByName(table_name, required);
	op->transactional = true;
	action->table_name = table_name;

	if (op->kind == KV_OP_PUT)
	{
		JsonbValue *item = KvMember(body, "Item");

		if (!KvIsObject(item))
			KvShapeError(NULL, "transactItems.member.put.item",
						 "Member must not be null");
		op->item = KvItemCheck(KvAsJsonb(item), KV_WRITE_PUT, NULL);
		KvItemKeys(op->item, &op->table->key, op->keys);
	}
	else
	{
		JsonbValue *key = KvMember(body, "Key");
		Jsonb	   *keyj;

		if (!KvIsObject(key))
			KvShapeError(NULL, "transactItems.member.key",
						 "Member must not be null");
		keyj = KvAsJsonb(key);
		KvRequestKeyDatums(keyj, &op->table->key, op->keys);
		op->item = KvItemCheck(keyj, KV_WRITE_UPDATE, NULL);
	}
	action->identity = KvKeyIdentity(op->table, op->keys);
	action->code = "None";
	action->size = KvActionSize(op, table_name, &texts, names);
}

/* KvActionOrder sorts actions by item identity: a fixed lock order avoids deadlocks. */
static int
KvActionOrder(const void *a, const void *b)
{
	const KvTransactAction *x = *(KvTransactAction *const *) a;
	const KvTransactAction *y = *(KvTransactAction *const *) b;

	return strcmp(x->identity, y->identity);
}

/* KvCancelTransaction raises TransactionCanceledException with its reasons. */
static void
KvCancelTransaction(KvTransactAction *actions, int n)
{
	StringInfoData codes;
	JsonbParseState *state = NULL;
	Jsonb	   *detail;

	initStringInfo(&codes);
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	KvPushKey(&state, "CancellationReasons");
	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < n; i++)
	{
		JsonbValue	v;
		const char *message = NULL;

		appendStringInfo(&codes, "%s%s", i > 0 ? ", " : "", actions[i].code);
		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		KvPushKey(&state, "Code");
		v.type = jbvString;
		v.val.string.val = (char *) actions[i].code;
		v.val.string.len = strlen(actions[i].code);
		pushJsonbValue(&state, WJB_VALUE, &v);
		if (strcmp(actions[i].code, "ConditionalCheckFailed") == 0)
			message = "The conditional request failed";
		else if (strcmp(actions[i].code, "TransactionConflict") == 0)
			message = "Transaction is ongoing for the item";
		if (message != NULL)
		{
			KvPushKey(&state, "Message");
			v.val.string.val = (char *) message;
			v.val.string.len = strlen(message);
			pushJsonbValue(&state, WJB_VALUE, &v);
		}
		if (message != NULL && actions[i].return_item_on_failure && actions[i].op.old != NULL)
		{
			KvPushKey(&state, "Item");
			KvPushJsonb(&state, WJB_VALUE, actions[i].op.old);
		}
		pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	detail = JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
	ereport(ERROR,
			(errcode(KV_ERRCODE_TRANSACTION_CANCELED),
			 errmsg("Transaction cancelled, please refer cancellation reasons for specific reasons [%s]",
					codes.data),
			 errdetail("%s", JsonbToCString(NULL, &detail->root, VARSIZE(detail)))));
}

/*
 * KvClaimRequestToken makes ClientRequestToken idempotent: the first call
 * with a token claims it (the row blocks concurrent calls with the same
 * token until this transaction ends); a repeat within 10 minutes returns
 * the stored response instead of applying the request again.
 */
static Jsonb *
KvClaimRequestToken(const char *token, const char *request_hash)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	Jsonb	   *response = NULL;
	bool		isnull;

	if (strlen(token) < 1 || strlen(token) > 36)
		KvShapeErrorElided("clientRequestToken",
						   "Member must have length less than or equal to 36");
	args[0] = CStringGetTextDatum(token);
	args[1] = CStringGetTextDatum(request_hash);
	SPI_connect();
	if (SPI_execute_with_args("SELECT partkv_internal.claim_request_token($1, $2)", 2, argtypes, args,
							  NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not claim the client request token");
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			response = (Jsonb *) SPI_datumTransfer(d, false, -1);
	}
	SPI_finish();
	return response;
}

/* KvRecordRequestToken stores the response of a claimed token. */
static void
KvRecordRequestToken(const char *token, Jsonb *response)
{
	Oid			argtypes[2] = {TEXTOID, JSONBOID};
	Datum		args[2];

	args[0] = CStringGetTextDatum(token);
	args[1] = JsonbPGetDatum(response);
	SPI_connect();
	if (SPI_execute_with_args("SELECT partkv_internal.record_request_token($1, $2)", 2, argtypes, args,
							  NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not record the client request token");
	SPI_finish();
}

/*
 * KvTransactItems reads a transactional request (its root and the
 * capacity it asks for) and checks its TransactItems list: present, of 1
 * to 100 actions.  Returns the list, its length in *n.
 */
static JsonbValue *
KvTransactItems(FunctionCallInfo fcinfo, Jsonb *request, JsonbValue *root,
				KvCapacity *cap, int *n)
{
	JsonbValue *list;

	KvRootValue(request, root);
	KvCapacityInit(cap, KvRequestCapacity(fcinfo, root));
	list = KvMember(root, "TransactItems");
	if (!KvIsArray(list))
		KvShapeError(NULL, "transactItems", "Member must not be null");
	*n = JsonContainerSize(list->val.binary.data);
	if (*n < 1 || *n > KV_TRANSACT_MAX_ITEMS)
		KvShapeErrorElided("transactItems",
						   psprintf("Member must have length less than or equal to 100 and greater than or equal to 1 (%d)", *n));
	return list;
}

/*
 * partkv_transact_write_items applies up to 100 Put, Update, Delete and
 * ConditionCheck actions on distinct items, at most 4 MB of them (items
 * put, keys, expressions and their values), all or nothing.  Every
 * condition is evaluated (under the items' row locks, taken in a fixed
 * order) before anything is written; any failure cancels the whole request
 * with KV002 and CancellationReasons in DETAIL.  In a cancelled request
 * the actions whose condition failed still consume units (statistics
 * only).
 * Arguments: request, return_consumed_capacity.
 */
Datum
partkv_transact_write_items(PG_FUNCTION_ARGS)
{
	Jsonb	   *request = KvRequiredJsonb(fcinfo, 0, "request");
	JsonbValue	root;
	JsonbValue *list;
	char	   *token;
	int			n;
	KvTransactAction *actions;
	KvTransactAction **order;
	bool		failed = false;
	int64		total_size = 0;
	Jsonb	   *response;
	KvCapacity	cap;

	list = KvTransactItems(fcinfo, request, &root, &cap, &n);

	actions = palloc0(sizeof(KvTransactAction) * n);
	order = palloc(sizeof(KvTransactAction *) * n);
	for (int i = 0; i < n; i++)
	{
		KvParseAction(getIthJsonbValueFromContainer(list->val.binary.data, i), &actions[i]);
		actions[i].op.measure = (cap.mode != KV_CAPACITY_NONE);
		order[i] = &actions[i];
		total_size += actions[i].size;
	}
	if (total_size > KV_TRANSACT_MAX_BYTES)
		KvValidationError(KV_TRANSACT_TOO_LARGE);
	qsort(order, n, sizeof(KvTransactAction *), KvActionOrder);
	for (int i = 1; i < n; i++)
		if (strcmp(order[i - 1]->identity, order[i]->identity) == 0)
			KvValidationError("Transaction request cannot include multiple operations on one item");

	/*
	 * A repeat of a request within 10 minutes returns the first response.
	 * Only now, after every action's table was looked up with the
	 * privileges it needs: a role that may not write must not get a write's
	 * response by repeating another role's token.
	 */
	token = KvMemberText(&root, "ClientRequestToken");
	if (token != NULL)
	{
		char		hash[33];
		char	   *text = JsonbToCString(NULL, &request->root, VARSIZE(request));
		const char *errstr = NULL;
		Jsonb	   *previous;

		if (!pg_md5_hash(text, strlen(text), hash, &errstr))
			elog(ERROR, "could not hash the request: %s", errstr);
		previous = KvClaimRequestToken(token, hash);
		if (previous != NULL)
			PG_RETURN_JSONB_P(previous);
	}

	/* lock every item and evaluate every condition, reporting all failures */
	for (int i = 0; i < n; i++)
	{
		KvOpOpen(&order[i]->op);
		if (!KvOpLockAndCheck(&order[i]->op))
		{
			order[i]->code = "ConditionalCheckFailed";
			failed = true;
		}
	}
	if (failed)
	{
		/* the failed actions consumed their units; the others wrote nothing */
		for (int i = 0; i < n; i++)
			if (strcmp(actions[i].code, "None") != 0)
				KvOpAccount(&actions[i].op, true);
		KvCancelTransaction(actions, n);
	}

	for (int i = 0; i < n; i++)
	{
		if (!KvOpApply(&actions[i].op))
		{
			/* another session created the item after our check */
			actions[i].code = "TransactionConflict";
			KvCancelTransaction(actions, n);
		}
	}
	for (int i = 0; i < n; i++)
	{
		KvOpAccount(&actions[i].op, false);
		KvOpCapacity(&cap, &actions[i].op, actions[i].table_name);
		KvOpClose(&actions[i].op);
	}

	response = KvEmptyResponse(NULL);
	if (token != NULL)
		KvRecordRequestToken(token, response);
	PG_RETURN_JSONB_P(KvCapacityAppend(response, &cap, true));
}

/* ----------------------------------------------------------------
 * TransactGetItems
 * ----------------------------------------------------------------
 */

/*
 * partkv_transact_get_items reads up to 100 items, at most 4 MB of them,
 * as of one snapshot; Responses are aligned with the request ({} for a
 * missing item).
 * Arguments: request, return_consumed_capacity.
 */
Datum
partkv_transact_get_items(PG_FUNCTION_ARGS)
{
	Jsonb	   *request = KvRequiredJsonb(fcinfo, 0, "request");
	JsonbValue	root;
	JsonbValue *list;
	int			n;
	KvTable   **tables;
	KvExprSet **exprs;
	Datum	   *keys;
	JsonbParseState *state = NULL;
	Snapshot	snapshot;
	char	  **names;
	int64		total_size = 0;
	KvCapacity	cap;

	list = KvTransactItems(fcinfo, request, &root, &cap, &n);

	tables = palloc0(sizeof(KvTable *) * n);
	exprs = palloc0(sizeof(KvExprSet *) * n);
	keys = palloc0(sizeof(Datum) * 2 * n);
	names = palloc0(sizeof(char *) * n);
	for (int i = 0; i < n; i++)
	{
		JsonbValue *entry = getIthJsonbValueFromContainer(list->val.binary.data, i);
		JsonbValue *get = KvMember(entry, "Get");
		JsonbValue *key;

		if (!KvIsObject(get))
			KvValidationError("TransactItems of TransactGetItems can only contain Get");
		names[i] = KvMemberText(get, "TableName") ? KvMemberText(get, "TableName") : "";
		tables[i] = KvLookupTable(cstring_to_text(names[i]), ACL_SELECT, AccessShareLock);
		key = KvMember(get, "Key");
		if (!KvIsObject(key))
			KvValidationError("The provided key element does not match the schema");
		KvRequestKeyDatums(KvAsJsonb(key), &tables[i]->key, &keys[2 * i]);
		if (KvMember(get, "ProjectionExpression") || KvMember(get, "ExpressionAttributeNames"))
		{
			KvExprTexts texts = {{0}};

			texts.text[KVEXPR_PROJECTION] = KvMemberText(get, "ProjectionExpression");
			exprs[i] = KvExprCompile(&texts, KvMemberJsonb(get, "ExpressionAttributeNames"), NULL);
		}
	}

	/* one snapshot for all the reads */
	snapshot = RegisterSnapshot(GetTransactionSnapshot());
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	KvPushKey(&state, "Responses");
	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < n; i++)
	{
		const KvPartition *part = KvRoutePartition(tables[i], keys[2 * i]);
		Jsonb	   *item = KvRowFetchSnapshot(&tables[i]->key, part, &keys[2 * i], snapshot);

		/* the items a transaction reads are limited as those it writes */
		total_size += item ? KvItemSize(item) : 0;
		if (total_size > KV_TRANSACT_MAX_BYTES)
			KvValidationError(KV_TRANSACT_TOO_LARGE);
		KvAccountRead(&cap, tables[i], part, names[i], item, true, true);

		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		if (item != NULL)
		{
			KvPushKey(&state, "Item");
			KvPushJsonb(&state, WJB_VALUE, KvExprProject(exprs[i], item));
		}
		pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	UnregisterSnapshot(snapshot);
	PG_RETURN_JSONB_P(KvCapacityAppend(JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL)),
									   &cap, true));
}
