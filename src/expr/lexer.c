/*-------------------------------------------------------------------------
 *
 * lexer.c
 *	  Tokenizer for DynamoDB expressions.
 *
 * One lexer serves all five expression kinds, as in DynamoDB: the keywords
 * AND OR NOT BETWEEN IN SET ADD DELETE REMOVE are tokens everywhere
 * (case-insensitive), so "SET and = :v" is a syntax error rather than a
 * reserved-word error.  Any character that starts no token becomes a
 * one-character TK_UNKNOWN token (a whole UTF-8 sequence counts as one
 * character) which the parser then reports as the offending token, e.g.
 * `Syntax error; token: "_", near: "SET _123"`.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "expr_int.h"

static const struct
{
	const char *word;
	KvTokType	type;
}			keywords[] =
{
	{"ADD", TK_ADD},
	{"AND", TK_AND},
	{"BETWEEN", TK_BETWEEN},
	{"DELETE", TK_DELETE},
	{"IN", TK_IN},
	{"NOT", TK_NOT},
	{"OR", TK_OR},
	{"REMOVE", TK_REMOVE},
	{"SET", TK_SET},
};

/*
 * IsIdChar
 *		[A-Za-z0-9_]
 */
static inline bool
IsIdChar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_';
}

/*
 * KeywordType
 *		TK_ID, or the keyword token if the identifier is one.
 */
static KvTokType
KeywordType(const char *s, int len)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
	{
		const char *w = keywords[i].word;

		if ((int) strlen(w) != len)
			continue;
		for (int j = 0; j < len; j++)
		{
			char		c = s[j];

			if (c >= 'a' && c <= 'z')
				c = (char) (c - 'a' + 'A');
			if (c != w[j])
				goto next;
		}
		return keywords[i].type;
next:
		;
	}
	return TK_ID;
}

/*
 * KvExprLex
 *		Split text into tokens, whitespace dropped, TK_EOF appended.
 *
 * The token array is sized for the worst case (one token per byte) so it
 * is allocated once.
 */
int
KvExprLex(KvExprArena *arena, const char *text, int len, KvToken **tokens)
{
	KvToken    *toks;
	int			n = 0;
	int			i = 0;

	toks = KvExprArenaAlloc(arena, sizeof(KvToken) * ((size_t) len + 1));
	if (toks == NULL)
		return -1;

	while (i < len)
	{
		unsigned char c = (unsigned char) text[i];
		int			start = i;
		KvTokType	type;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
		{
			i++;
			continue;
		}

		switch (c)
		{
			case ',':
				type = TK_COMMA;
				i++;
				break;
			case '(':
				type = TK_LPAREN;
				i++;
				break;
			case ')':
				type = TK_RPAREN;
				i++;
				break;
			case '.':
				type = TK_DOT;
				i++;
				break;
			case '[':
				type = TK_LBRACKET;
				i++;
				break;
			case ']':
				type = TK_RBRACKET;
				i++;
				break;
			case '=':
				type = TK_EQ;
				i++;
				break;
			case '+':
				type = TK_PLUS;
				i++;
				break;
			case '-':
				type = TK_MINUS;
				i++;
				break;
			case '<':
				i++;
				if (i < len && text[i] == '>')
				{
					type = TK_NE;
					i++;
				}
				else if (i < len && text[i] == '=')
				{
					type = TK_LE;
					i++;
				}
				else
					type = TK_LT;
				break;
			case '>':
				i++;
				if (i < len && text[i] == '=')
				{
					type = TK_GE;
					i++;
				}
				else
					type = TK_GT;
				break;
			case '#':
			case ':':
				i++;
				if (i < len && IsIdChar((unsigned char) text[i]))
				{
					while (i < len && IsIdChar((unsigned char) text[i]))
						i++;
					type = (c == '#') ? TK_NAME_SUB : TK_VALUE_SUB;
				}
				else
					type = TK_UNKNOWN;
				break;
			default:
				if (c >= '0' && c <= '9')
				{
					while (i < len && text[i] >= '0' && text[i] <= '9')
						i++;
					type = TK_INDEX;
				}
				else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
				{
					while (i < len && IsIdChar((unsigned char) text[i]))
						i++;
					type = KeywordType(text + start, i - start);
				}
				else
				{
					/* one (UTF-8) character */
					i++;
					if (c >= 0xC0)
					{
						int			more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;

						while (more-- > 0 && i < len &&
							   ((unsigned char) text[i] & 0xC0) == 0x80)
							i++;
					}
					type = TK_UNKNOWN;
				}
				break;
		}
		toks[n].type = type;
		toks[n].start = start;
		toks[n].len = i - start;
		n++;
	}
	toks[n].type = TK_EOF;
	toks[n].start = len;
	toks[n].len = 0;
	n++;
	*tokens = toks;
	return n;
}
