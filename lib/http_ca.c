/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The trust anchors of lib/http_conn.c, taken from the CA file on demand.
 * SSL_CTX_load_verify_locations decodes every certificate of the file
 * (public keys included, through OpenSSL 3's decoders): for Debian's
 * bundle of ~150 roots that is ~28 ms of CPU on every sign-in, more than
 * the rest of it. Here the file is split into DER certificates and only
 * their subject names are decoded; when a peer's chain is verified, the
 * certificates whose subject is an issuer or a subject in that chain (and,
 * transitively, their issuers) are added to the store first, then OpenSSL
 * verifies as always. Same file, same anchors, same X509_NAME_cmp match as
 * the store's own lookup. A file with anything but CERTIFICATE blocks, or
 * one that does not parse, is loaded whole as before.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/x509.h>

#include "codec.h"
#include "http_ca.h"
#include "secret.h"

#define CA_FILE_MAX (8u << 20)
#define CA_CERTS_MAX 4096

struct ca_cert {
	const unsigned char *der;
	long len;
	X509_NAME *subject;
	X509_NAME *issuer; /* once added */
	bool added;
};

struct up_ca {
	unsigned char *der; /* all certificates, decoded from base64 */
	struct ca_cert *certs;
	size_t n;
};

void up_ca_free(struct up_ca *ca)
{
	if (!ca)
		return;
	for (size_t i = 0; i < ca->n; i++) {
		X509_NAME_free(ca->certs[i].issuer);
		X509_NAME_free(ca->certs[i].subject);
	}
	free(ca->certs);
	free(ca->der);
	free(ca);
}

/* Base64 between s and e (line breaks and blanks skipped, '=' ends it)
 * into out; the number of bytes, or -1. */
static long b64_decode(const char *s, const char *e, unsigned char *out)
{
	unsigned acc = 0, bits = 0;
	long n = 0;

	for (; s < e && *s != '='; s++) {
		int v = up_b64_digit(*s);
		if (v < 0) {
			if (*s == '\n' || *s == '\r' || *s == ' ' || *s == '\t')
				continue;
			return -1;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return n;
}

/* One DER TLV at *p (before end): its header length and content length. */
static bool der_tlv(const unsigned char *p, const unsigned char *end, size_t *hl, size_t *cl)
{
	size_t len, i, nb;

	if (end - p < 2)
		return false;
	len = p[1];
	*hl = 2;
	if (len & 0x80) {
		nb = len & 0x7f;
		if (nb == 0 || nb > 3 || (size_t)(end - p) < 2 + nb)
			return false;
		for (len = 0, i = 0; i < nb; i++)
			len = len << 8 | p[2 + i];
		*hl = 2 + nb;
	}
	if (len > (size_t)(end - p) - *hl)
		return false;
	*cl = len;
	return true;
}

/* The subject Name of a DER certificate: Certificate { tbs { [0] version?,
 * serial, signature, issuer, validity, subject ... } ... }. */
static bool der_subject(struct ca_cert *c)
{
	const unsigned char *p = c->der, *end = c->der + c->len, *q;
	size_t hl, cl;

	/* into Certificate, then tbsCertificate */
	for (int i = 0; i < 2; i++) {
		if (p >= end || *p != 0x30 || !der_tlv(p, end, &hl, &cl))
			return false;
		end = p + hl + cl;
		p += hl;
	}
	if (p < end && *p == 0xa0) { /* version */
		if (!der_tlv(p, end, &hl, &cl))
			return false;
		p += hl + cl;
	}
	for (int i = 0; i < 5; i++) { /* serial, signature, issuer, validity, subject */
		if (p >= end || !der_tlv(p, end, &hl, &cl))
			return false;
		if (i == 4) {
			q = p;
			c->subject = *p == 0x30 ? d2i_X509_NAME(NULL, &q, (long)(hl + cl)) : NULL;
			if (!c->subject)
				return false;
		}
		p += hl + cl;
	}
	return true;
}

/* Split the PEM text into DER certificates; false when it holds anything
 * else (or nothing). */
static bool split_pem(struct up_ca *ca, const char *text, size_t len)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----";
	static const char end[] = "-----END CERTIFICATE-----";
	const char *p = text, *e = text + len;
	size_t used = 0;

	ca->der = malloc(len / 4 * 3 + 3);
	ca->certs = calloc(CA_CERTS_MAX, sizeof(*ca->certs));
	if (!ca->der || !ca->certs)
		return false;
	while ((p = memmem(p, (size_t)(e - p), "-----BEGIN ", 11))) {
		const char *b64 = p + sizeof(begin) - 1, *stop;
		long n;

		if ((size_t)(e - p) < sizeof(begin) - 1 || memcmp(p, begin, sizeof(begin) - 1) ||
		    ca->n == CA_CERTS_MAX)
			return false;
		stop = memmem(b64, (size_t)(e - b64), end, sizeof(end) - 1);
		if (!stop || (n = b64_decode(b64, stop, ca->der + used)) <= 0)
			return false;
		ca->certs[ca->n].der = ca->der + used;
		ca->certs[ca->n].len = n;
		if (!der_subject(&ca->certs[ca->n++]))
			return false;
		used += (size_t)n;
		p = stop + sizeof(end) - 1;
	}
	return ca->n > 0;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	char *s = NULL;

	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (size_t)st.st_size <= CA_FILE_MAX && (s = malloc((size_t)st.st_size))) {
		*len = fread(s, 1, (size_t)st.st_size, f);
		if (*len != (size_t)st.st_size) {
			free(s);
			s = NULL;
		}
	}
	fclose(f);
	return s;
}

struct up_ca *up_ca_load(const char *path)
{
	struct up_ca *ca = calloc(1, sizeof(*ca));
	size_t len = 0;
	char *text = read_file(path, &len);

	if (!ca || !text || !split_pem(ca, text, len)) {
		up_ca_free(ca);
		ca = NULL;
	}
	free(text);
	return ca;
}

/* Add the file's certificates whose subject is `name`; true if any. */
static bool add_named(struct up_ca *ca, X509_STORE *store, const X509_NAME *name)
{
	bool any = false;

	for (size_t i = 0; i < ca->n; i++) {
		struct ca_cert *c = &ca->certs[i];
		const unsigned char *p = c->der;
		X509 *x;

		if (c->added || X509_NAME_cmp(c->subject, name) != 0)
			continue;
		c->added = true;
		x = d2i_X509(NULL, &p, c->len);
		if (x && X509_STORE_add_cert(store, x)) {
			c->issuer = X509_NAME_dup(X509_get_issuer_name(x));
			any = true;
		}
		X509_free(x);
	}
	return any;
}

/* Before OpenSSL verifies a peer's chain: the anchors it may need. */
static int verify_cb(X509_STORE_CTX *xs, void *arg)
{
	struct up_ca *ca = arg;
	X509_STORE *store = X509_STORE_CTX_get0_store(xs);
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_untrusted(xs);
	X509 *leaf = X509_STORE_CTX_get0_cert(xs);
	bool more = true;

	if (leaf) {
		add_named(ca, store, X509_get_issuer_name(leaf));
		add_named(ca, store, X509_get_subject_name(leaf));
	}
	for (int i = 0; i < sk_X509_num(chain); i++) {
		add_named(ca, store, X509_get_issuer_name(sk_X509_value(chain, i)));
		add_named(ca, store, X509_get_subject_name(sk_X509_value(chain, i)));
	}
	/* The issuers of what was added (a root cross-signed by another, an
	 * intermediate in the file), until nothing new comes. */
	while (more) {
		more = false;
		for (size_t i = 0; i < ca->n; i++)
			if (ca->certs[i].issuer && add_named(ca, store, ca->certs[i].issuer))
				more = true;
	}
	return X509_verify_cert(xs);
}

void up_ca_attach(SSL_CTX *c, struct up_ca *ca)
{
	SSL_CTX_set_cert_verify_callback(c, verify_cb, ca);
}
