/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_HTTP_CA_H
#define UP_LIB_HTTP_CA_H

/* Private to libuserpool (lib/http_ca.c): the CA file's certificates added
 * to an SSL_CTX's store on demand, when a peer's chain names them. */

#include <openssl/ssl.h>

struct up_ca;
/* The file split into certificates, their names decoded; NULL when it is
 * unreadable or holds anything but PEM CERTIFICATE blocks (then the caller
 * loads it whole with SSL_CTX_load_verify_locations). */
struct up_ca *up_ca_load(const char *path);
/* Verify c's peers against ca (which must outlive c). */
void up_ca_attach(SSL_CTX *c, struct up_ca *ca);
void up_ca_free(struct up_ca *ca);

#endif
