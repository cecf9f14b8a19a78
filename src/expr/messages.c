/*-------------------------------------------------------------------------
 *
 * messages.c
 *	  How validation speaks: the names of expression kinds, comparators,
 *	  functions and operators, document paths as text, and the helpers that
 *	  format DynamoDB's validation messages.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>

#include "validate_int.h"

/*
 * KvExprKindName
 *		DynamoDB's name of the request parameter.
 */
const char *
KvExprKindName(KvExprKind kind)
{
	switch (kind)
	{
		case KVEXPR_UPDATE:
			return "UpdateExpression";
		case KVEXPR_CONDITION:
			return "ConditionExpression";
		case KVEXPR_FILTER:
			return "FilterExpression";
		case KVEXPR_PROJECTION:
			return "ProjectionExpression";
		case KVEXPR_KEY_CONDITION:
			return "KeyConditionExpression";
		default:
			return "Expression";
	}
}

/*
 * KvExprCmpSymbol
 *		The comparator as written.
 */
const char *
KvExprCmpSymbol(KvExprCmp cmp)
{
	static const char *const sym[] = {"=", "<>", "<", "<=", ">", ">="};

	return ((unsigned) cmp < 6) ? sym[cmp] : "?";
}

/*
 * KvExprFuncName
 *		The function name as DynamoDB spells it.
 */
const char *
KvExprFuncName(KvExprFunc func)
{
	switch (func)
	{
		case KVEXPR_FUNC_ATTRIBUTE_EXISTS:
			return "attribute_exists";
		case KVEXPR_FUNC_ATTRIBUTE_NOT_EXISTS:
			return "attribute_not_exists";
		case KVEXPR_FUNC_ATTRIBUTE_TYPE:
			return "attribute_type";
		case KVEXPR_FUNC_BEGINS_WITH:
			return "begins_with";
		case KVEXPR_FUNC_CONTAINS:
			return "contains";
		case KVEXPR_FUNC_SIZE:
			return "size";
		case KVEXPR_FUNC_IF_NOT_EXISTS:
			return "if_not_exists";
		case KVEXPR_FUNC_LIST_APPEND:
			return "list_append";
		default:
			return "unknown";
	}
}

/*
 * KvExprOperatorName
 *		How DynamoDB names an operator node in messages.
 */
const char *
KvExprOperatorName(const KvExprNode *n)
{
	switch (n->type)
	{
		case KVEXPR_NODE_COMPARE:
			return KvExprCmpSymbol(n->cmp);
		case KVEXPR_NODE_BETWEEN:
			return "BETWEEN";
		case KVEXPR_NODE_IN:
			return "IN";
		case KVEXPR_NODE_AND:
			return "AND";
		case KVEXPR_NODE_OR:
			return "OR";
		case KVEXPR_NODE_NOT:
			return "NOT";
		case KVEXPR_NODE_PLUS:
			return "+";
		case KVEXPR_NODE_MINUS:
			return "-";
		case KVEXPR_NODE_FUNC:
			return n->func_name;
		default:
			return "?";
	}
}

/*
 * KvExprErrorV
 *		Concatenate the NULL-terminated list of strings into the error
 *		message.  Always returns false.
 */
bool
KvExprErrorV(ValState *vs, KvExprErrorKind kind, const char *first,...)
{
	KvExprBuf	buf;
	va_list		ap;
	const char *s;

	KvExprBufInit(&buf, vs->arena);
	va_start(ap, first);
	for (s = first; s != NULL; s = va_arg(ap, const char *))
		KvExprBufAppendStr(&buf, s);
	va_end(ap);
	KvExprSetError(vs->es, kind, buf.data);
	return false;
}

/*
 * KvExprError2 / KvExprError3
 *		Build "<a><b>[<c>]" in the arena and record it as the error.
 */
bool
KvExprError3(ValState *vs, KvExprErrorKind kind, const char *a, const char *b, const char *c)
{
	KvExprBuf	buf;

	KvExprBufInit(&buf, vs->arena);
	KvExprBufAppendStr(&buf, a);
	if (b)
		KvExprBufAppendStr(&buf, b);
	if (c)
		KvExprBufAppendStr(&buf, c);
	KvExprSetError(vs->es, kind, buf.data);
	return false;
}

bool
KvExprError2(ValState *vs, KvExprErrorKind kind, const char *a, const char *b)
{
	return KvExprError3(vs, kind, a, b, NULL);
}

/*
 * KvExprErrorInt
 *		Record "<prefix><number>".
 */
bool
KvExprErrorInt(ValState *vs, KvExprErrorKind kind, const char *prefix, long long v)
{
	KvExprBuf	buf;

	KvExprBufInit(&buf, vs->arena);
	KvExprBufAppendStr(&buf, prefix);
	KvExprBufAppendInt(&buf, v);
	KvExprSetError(vs->es, kind, buf.data);
	return false;
}

/*
 * KvExprAppendPath
 *		Append a path the way DynamoDB prints it: [a, [1], b].
 */
void
KvExprAppendPath(KvExprBuf *buf, const KvExprPathElem *elems, int n)
{
	KvExprBufAppendStr(buf, "[");
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			KvExprBufAppendStr(buf, ", ");
		if (elems[i].kind == KVEXPR_ELEM_INDEX)
		{
			KvExprBufAppendStr(buf, "[");
			KvExprBufAppendInt(buf, (long long) elems[i].index);
			KvExprBufAppendStr(buf, "]");
		}
		else
			KvExprBufAppend(buf, elems[i].name, elems[i].name_len);
	}
	KvExprBufAppendStr(buf, "]");
}

/*
 * KvExprPathToString
 *		Public wrapper of KvExprAppendPath.
 */
char *
KvExprPathToString(KvExprArena *arena, const KvExprPath *path)
{
	KvExprBuf	buf;

	KvExprBufInit(&buf, arena);
	KvExprAppendPath(&buf, path->elems, path->nelems);
	return buf.data;
}
