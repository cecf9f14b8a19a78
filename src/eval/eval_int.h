/*-------------------------------------------------------------------------
 *
 * eval_int.h
 *	  What the evaluator's files share among themselves: the mutable
 *	  document, the evaluation context of conditions, and the functions one
 *	  file lends another.  Callers outside src/eval/ include eval.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_EVAL_INT_H
#define PARTKV_EVAL_INT_H

#include "eval.h"

/* what a node of a mutable document is */
typedef enum KvDocKind
{
	KV_DOC_VALUE,				/* a leaf: scalar, typed value or unexpanded container */
	KV_DOC_MAP,
	KV_DOC_LIST
} KvDocKind;

typedef struct KvDoc KvDoc;

/* one node of a mutable document: a leaf value, or a map or list of nodes */
struct KvDoc
{
	KvDocKind	kind;
	JsonbValue	value;			/* VALUE */
	int			n;				/* MAP / LIST: children */
	int			cap;
	char	  **names;			/* MAP: member names */
	int		   *namelens;
	uint32	   *order;			/* LIST in projections: source index */
	KvDoc	  **children;
	bool	   *removed;		/* LIST: elements removed by REMOVE */
};

/* what a condition is evaluated against */
typedef struct KvEvalContext
{
	KvExprSet  *set;
	Jsonb	   *item;			/* NULL: item does not exist */
} KvEvalContext;

/* value.c */
extern void KvTypedInner(const JsonbValue *v, KvType type, JsonbValue *inner);
extern bytea *KvDecodeBinary(const JsonbValue *v);
extern int	KvContainerCount(const JsonbValue *v);
extern bool KvSetContains(const JsonbValue *inner, const JsonbValue *elem);
extern void KvNumberValue(Numeric n, JsonbValue *out);

/* path.c */
extern bool KvResolvePath(Jsonb *item, const KvExprPath *path, JsonbValue *out);

/* condition.c */
extern bool KvEvalOperand(KvEvalContext *cx, const KvExprNode *node, JsonbValue *out);

/* doc.c */
extern KvDoc *KvDocNew(KvDocKind kind);
extern KvDoc *KvDocLeaf(const JsonbValue *v);
extern void KvDocGrow(KvDoc *d);
extern void KvDocExpand(KvDoc *d);
extern KvDoc *KvDocFromItem(Jsonb *item);
extern int	KvDocMember(const KvDoc *d, const char *name, int len);
extern void KvDocSetMember(KvDoc *d, const char *name, int len, KvDoc *child);
extern void KvDocRemoveMember(KvDoc *d, const char *name, int len);
extern Jsonb *KvDocToJsonb(KvDoc *d);

/* project.c */
extern Jsonb *KvProjectPaths(Jsonb *item, const KvExprPath *const *paths, int npaths);

#endif							/* PARTKV_EVAL_INT_H */
