/*-------------------------------------------------------------------------
 *
 * itemnumber.c
 *	  DynamoDB numbers: parsing their text, the precision and range rules,
 *	  canonical form, and the figures their size is stated in.
 *
 * Interpretation where DynamoDB's rules leave room: a number's "exponent" is
 * the exponent of the number in scientific notation, i.e. the power of ten
 * of its first significant digit (12.5 = 1.25E1: exponent 1; 0.05 = 5E-2:
 * exponent -2), and its "digits" its significant digits without leading or
 * trailing zeros (1000 has 1).  Range and precision use the same two
 * figures: -130 <= exponent <= 125 and digits <= 38; so does the size
 * (dynalite's rule).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"

#include "../common/errors.h"
#include "item_int.h"

/* exponents are clamped to this while parsing: far beyond any valid one */
#define KV_EXPONENT_CLAMP	1000000

#define KV_MAX_NUMBER_EXPONENT	125
#define KV_MIN_NUMBER_EXPONENT	(-130)

/*
 * NumberParse reads DynamoDB number text ([+-]digits[.digits][e[+-]digits],
 * digits on at least one side of the point, no blanks) into its sign,
 * significant digits and exponent.  Returns false on malformed text.
 * Exponents are clamped so absurd ones cannot overflow; they fail the range
 * check anyway.
 */
static bool
NumberParse(const char *text, KvNumber *num)
{
	const char *p = text;
	const char *mant;
	const char *mant_end;
	const char *q;
	int			intdigits = 0;
	int			fracdigits = 0;
	int64		exp10 = 0;
	int64		exponent;
	int			idx = 0;
	int			first = -1;
	char	   *d;
	char	   *last;

	num->neg = false;
	num->digits = NULL;
	if (*p == '+' || *p == '-')
	{
		num->neg = (*p == '-');
		p++;
	}
	mant = p;
	while (*p >= '0' && *p <= '9')
	{
		p++;
		intdigits++;
	}
	if (*p == '.')
	{
		p++;
		while (*p >= '0' && *p <= '9')
		{
			p++;
			fracdigits++;
		}
	}
	if (intdigits + fracdigits == 0)
		return false;
	mant_end = p;
	if (*p == 'e' || *p == 'E')
	{
		bool		eneg = false;

		p++;
		if (*p == '+' || *p == '-')
		{
			eneg = (*p == '-');
			p++;
		}
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
		{
			if (exp10 < KV_EXPONENT_CLAMP)
				exp10 = exp10 * 10 + (*p - '0');
			p++;
		}
		if (eneg)
			exp10 = -exp10;
	}
	if (*p != '\0')
		return false;

	/* keep the digits from the first non-zero one, then drop trailing zeros */
	num->digits = palloc(intdigits + fracdigits + 1);
	d = num->digits;
	last = d;
	for (q = mant; q < mant_end; q++)
	{
		if (*q == '.')
			continue;
		if (first < 0 && *q == '0')
		{
			idx++;
			continue;
		}
		if (first < 0)
			first = idx;
		*d++ = *q;
		if (*q != '0')
			last = d;
		idx++;
	}
	*last = '\0';
	num->ndigits = last - num->digits;

	if (num->ndigits == 0)
	{
		/* zero, whatever its sign, scale or exponent */
		num->neg = false;
		num->exponent = 0;
		return true;
	}

	exponent = (int64) intdigits - first - 1 + exp10;
	if (exponent > 2 * KV_EXPONENT_CLAMP)
		exponent = 2 * KV_EXPONENT_CLAMP;
	if (exponent < -2 * KV_EXPONENT_CLAMP)
		exponent = -2 * KV_EXPONENT_CLAMP;
	num->exponent = (int) exponent;
	return true;
}

/*
 * NumberCheck enforces DynamoDB's number range and precision, in
 * DynamoDB's order and words: magnitude 1E-130 <= |x| < 1E126 (or zero),
 * at most 38 significant digits.
 */
static void
NumberCheck(const KvNumber *num)
{
	if (num->ndigits == 0)
		return;
	if (num->exponent > KV_MAX_NUMBER_EXPONENT)
		KvValidationError("Number overflow. Attempting to store a number with magnitude larger than supported range");
	if (num->exponent < KV_MIN_NUMBER_EXPONENT)
		KvValidationError("Number underflow. Attempting to store a number with magnitude smaller than supported range");
	if (num->ndigits > KV_MAX_NUMBER_DIGITS)
		KvValidationError("Attempting to store more than 38 significant digits in a Number");
}

/*
 * NumberRender writes a checked number canonically: plain decimal, no
 * exponent, no leading zeros, no trailing fractional zeros, no "+", zero as
 * "0".  This is also what PostgreSQL's numeric output prints for the same
 * value at its minimal scale.
 */
static char *
NumberRender(const KvNumber *num)
{
	char	   *result;
	char	   *p;

	if (num->ndigits == 0)
		return pstrdup("0");

	/* sign, digits, zeros up to the exponent, "0." and the NUL */
	result = palloc(num->ndigits + Abs(num->exponent) + 4);
	p = result;
	if (num->neg)
		*p++ = '-';
	if (num->exponent >= 0)
	{
		int			intlen = num->exponent + 1;

		if (num->ndigits <= intlen)
		{
			memcpy(p, num->digits, num->ndigits);
			p += num->ndigits;
			for (int i = num->ndigits; i < intlen; i++)
				*p++ = '0';
		}
		else
		{
			memcpy(p, num->digits, intlen);
			p += intlen;
			*p++ = '.';
			memcpy(p, num->digits + intlen, num->ndigits - intlen);
			p += num->ndigits - intlen;
		}
	}
	else
	{
		*p++ = '0';
		*p++ = '.';
		for (int i = 0; i < -num->exponent - 1; i++)
			*p++ = '0';
		memcpy(p, num->digits, num->ndigits);
		p += num->ndigits;
	}
	*p = '\0';
	return result;
}

/*
 * KvNumberSize is the DynamoDB size of a number by dynalite's rule: 1 byte
 * for zero, else 1 + ceil(digits / 2), plus 1 when both the digit count
 * and the exponent are even, plus 1 when negative.
 */
int
KvNumberSize(const KvNumber *num)
{
	if (num->ndigits == 0)
		return 1;
	return 1 + (num->ndigits + 1) / 2 +
		((num->ndigits % 2 == 0 && num->exponent % 2 == 0) ? 1 : 0) +
		(num->neg ? 1 : 0);
}

/*
 * NumericFromText builds a numeric from text already known to be a valid
 * plain decimal.
 */
static Numeric
NumericFromText(const char *text)
{
	return DatumGetNumeric(DirectFunctionCall3(numeric_in,
											   CStringGetDatum(text),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

/*
 * NumericParse breaks a numeric into a KvNumber and returns its output
 * text.  NaN and infinities, which jsonb built from SQL could hold, are not
 * DynamoDB numbers.
 */
static char *
NumericParse(Numeric n, KvNumber *num)
{
	char	   *text;

	if (numeric_is_nan(n) || numeric_is_inf(n))
	{
		text = DatumGetCString(DirectFunctionCall1(numeric_out,
												   NumericGetDatum(n)));
		KvValidationError("The parameter cannot be converted to a numeric value: %s",
						  text);
	}
	text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n)));
	if (!NumberParse(text, num))
		elog(ERROR, "unexpected numeric output \"%s\"", text);
	return text;
}

/*
 * KvNumericCanonicalText checks a numeric against DynamoDB's rules and
 * returns its canonical text; *changed tells whether that differs from the
 * numeric's own output (trailing fractional zeros).
 */
char *
KvNumericCanonicalText(Numeric n, KvNumber *num, bool *changed)
{
	char	   *text = NumericParse(n, num);
	char	   *canon;

	NumberCheck(num);
	canon = NumberRender(num);
	*changed = (strcmp(canon, text) != 0);
	/* items can hold many numbers: give back what is no longer needed */
	pfree(text);
	pfree(num->digits);
	num->digits = NULL;
	return canon;
}

/*
 * KvNumberCanonical checks a number and returns it canonically: the same
 * pointer when it already is, so callers can tell nothing changed.
 */
Numeric
KvNumberCanonical(Numeric num)
{
	KvNumber	parsed;
	bool		changed;
	char	   *canon = KvNumericCanonicalText(num, &parsed, &changed);
	Numeric		result = num;

	if (changed)
		result = NumericFromText(canon);
	pfree(canon);
	return result;
}

/*
 * KvNumberFromText parses DynamoDB number text (the "N" of DynamoDB JSON),
 * with DynamoDB's messages for bad text, range and precision.
 */
Numeric
KvNumberFromText(const char *text)
{
	KvNumber	parsed;

	if (text == NULL || text[0] == '\0')
		KvValidationError("The parameter cannot be converted to a numeric value");
	if (!NumberParse(text, &parsed))
		KvValidationError("The parameter cannot be converted to a numeric value: %s",
						  text);
	NumberCheck(&parsed);
	return NumericFromText(NumberRender(&parsed));
}
