/*-------------------------------------------------------------------------
 *
 * expr_int.h
 *	  Internal declarations shared by the files of src/expr/.  Not for use
 *	  outside this directory.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_EXPR_INT_H
#define PARTKV_EXPR_INT_H

#include "expr.h"

/* ----------------------------------------------------------------
 * Strings built in the arena (arena.c)
 * ----------------------------------------------------------------
 */

/* A growable string in an arena; data stays NUL-terminated */
typedef struct KvExprBuf
{
	KvExprArena *arena;
	char	   *data;
	size_t		len;
	size_t		cap;
} KvExprBuf;

extern void KvExprBufInit(KvExprBuf *buf, KvExprArena *arena);
extern void KvExprBufAppend(KvExprBuf *buf, const char *s, size_t len);
extern void KvExprBufAppendStr(KvExprBuf *buf, const char *s);
extern void KvExprBufAppendInt(KvExprBuf *buf, long long v);
extern char *KvExprStrndup(KvExprArena *arena, const char *s, size_t len);

/* ----------------------------------------------------------------
 * Lexer (lexer.c)
 * ----------------------------------------------------------------
 */

typedef enum KvTokType
{
	TK_EOF = 0,
	TK_COMMA,
	TK_LPAREN,
	TK_RPAREN,
	TK_DOT,
	TK_LBRACKET,
	TK_RBRACKET,
	TK_EQ,
	TK_NE,
	TK_LT,
	TK_LE,
	TK_GT,
	TK_GE,
	TK_PLUS,
	TK_MINUS,
	TK_IN,
	TK_BETWEEN,
	TK_NOT,
	TK_AND,
	TK_OR,
	TK_SET,
	TK_ADD,
	TK_DELETE,
	TK_REMOVE,
	TK_INDEX,					/* decimal digits */
	TK_ID,						/* [A-Za-z][A-Za-z0-9_]* */
	TK_NAME_SUB,				/* #[A-Za-z0-9_]+ */
	TK_VALUE_SUB,				/* :[A-Za-z0-9_]+ */
	TK_UNKNOWN					/* any other character */
} KvTokType;

typedef struct KvToken
{
	KvTokType	type;
	int			start;			/* byte offset */
	int			len;
} KvToken;

/*
 * Tokenize text (len <= KVEXPR_MAX_EXPRESSION_BYTES).  Whitespace is
 * dropped; the token array always ends with TK_EOF (start = len).  Returns
 * the number of tokens including EOF, or -1 on allocation failure.
 */
extern int	KvExprLex(KvExprArena *arena, const char *text, int len,
					  KvToken **tokens);

/* ----------------------------------------------------------------
 * Parser (parser.c) and tree walks (validate.c)
 * ----------------------------------------------------------------
 */

/* KvExprNode.flags */
#define KVEXPR_NODE_IS_COND		0x01	/* a condition, not an operand */
#define KVEXPR_NODE_PENDING_REDUNDANT 0x02	/* redundant parens, role open */

/*
 * A path element written "a.:v" (DynamoDB's grammar accepts it; validation
 * rejects it) is stored as a NAME element whose placeholder starts with ':'.
 */

/* State of one error report: first error wins */
typedef struct KvExprErrState
{
	KvExprArena *arena;
	KvExprKind	kind;
	KvExprErrorKind err;
	const char *message;		/* without the "Invalid X: " prefix */
} KvExprErrState;

extern void KvExprSetError(KvExprErrState *es, KvExprErrorKind kind,
						   const char *message);

/*
 * Parse text into *out (syntax only).  Returns false with es set on error.
 */
extern bool KvExprParseText(KvExprErrState *es, const char *text, int len,
							KvExpr **out);

/*
 * The source-order walk DynamoDB does right after parsing: reserved words,
 * list index range, function names / placement, repeated update sections.
 */
extern bool KvExprCheckTree(KvExprErrState *es, const KvExpr *expr);

/* Reserved words (reserved.c) */
extern bool KvExprIsReservedWord(const char *word, size_t len);

#endif							/* PARTKV_EXPR_INT_H */
