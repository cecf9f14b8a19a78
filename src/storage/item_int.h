/*-------------------------------------------------------------------------
 *
 * item_int.h
 *	  What the item model's files share among themselves and nobody else
 *	  needs: a number's figures, the raw typed-value readers, the checks the
 *	  typed-JSON codec reuses.  Callers outside storage/item*.c and
 *	  dynamojson.c include item.h (or dynamojson.h) instead.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_ITEM_INT_H
#define PARTKV_ITEM_INT_H

#include "item.h"

/* a DynamoDB number broken into the figures its rules are stated in */
typedef struct KvNumber
{
	bool		neg;			/* negative (never true for zero) */
	int			ndigits;		/* significant digits; 0 means zero */
	int			exponent;		/* power of ten of the first significant digit */
	char	   *digits;			/* the significant digits, NUL-terminated */
} KvNumber;

/* itemnumber.c: DynamoDB size of a parsed number */
extern int	KvNumberSize(const KvNumber *num);

/*
 * itemnumber.c: check a numeric against DynamoDB's rules and return its
 * canonical text; *changed tells whether that differs from its own output.
 */
extern char *KvNumericCanonicalText(Numeric n, KvNumber *num, bool *changed);

/* itembase64.c: validate canonical base64, returning the decoded length */
extern int	KvBase64Check(const char *text, int len);

/* itembase64.c: decoded length of base64 assumed valid (never an error) */
extern int	KvBase64Length(const char *text, int len);

/*
 * itemtype.c: DynamoDB type of a non-scalar container (L, M or a typed
 * value, whose member value goes to *inner when inner is not NULL).
 */
extern KvType KvContainerType(JsonbContainer *c, JsonbValue *inner);


/* itemcheck.c: length rule of an attribute (top_level) or map member name */
extern void KvCheckAttributeName(int len, bool top_level);

/* itemcheck.c: KvItemCheck, with the 400 KB rule only when enforce_size */
extern Jsonb *KvItemCheckInternal(Jsonb *item, KvWriteKind kind,
								  bool enforce_size, int64 *size_out);

#endif							/* PARTKV_ITEM_INT_H */
