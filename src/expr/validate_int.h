/*-------------------------------------------------------------------------
 *
 * validate_int.h
 *	  What the files of expression validation share among themselves:
 *	  placeholder key sets, the validation state, and the functions one file
 *	  lends another.  Nothing outside src/expr/ includes it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_VALIDATE_INT_H
#define PARTKV_VALIDATE_INT_H

#include "expr_int.h"

/* A sorted view of the request's placeholder keys, with "used" marks */
typedef struct KeySet
{
	int			n;
	const char **keys;			/* in caller order */
	int		   *order;			/* indexes sorted by key */
	bool	   *used;
	const KvExprName *names;	/* ExpressionAttributeNames, or NULL */
} KeySet;

/* State of the validation of one expression */
typedef struct ValState
{
	KvExprErrState *es;
	KvExprArena *arena;
	const KvExprRequest *req;	/* NULL: no resolution (KvExprParse) */
	KeySet	   *names;
	KeySet	   *values;
	int			opcount;
} ValState;

/* messages.c */
extern const char *KvExprOperatorName(const KvExprNode *n);
extern bool KvExprErrorV(ValState *vs, KvExprErrorKind kind, const char *first, ...);
extern bool KvExprError3(ValState *vs, KvExprErrorKind kind, const char *a, const char *b, const char *c);
extern bool KvExprError2(ValState *vs, KvExprErrorKind kind, const char *a, const char *b);
extern bool KvExprErrorInt(ValState *vs, KvExprErrorKind kind, const char *prefix, long long v);
extern void KvExprAppendPath(KvExprBuf *buf, const KvExprPathElem *elems, int n);

/* validate.c */
extern bool KvExprResolvePath(ValState *vs, KvExprPath *path);
extern bool KvExprValidateExpr(ValState *vs, KvExpr *expr);

/* keycond.c */
extern bool KvExprDecomposeKeyCondition(KvExprArena *arena, const KvExprNode *cond, KvExprRequestResult *result);

#endif							/* PARTKV_VALIDATE_INT_H */
