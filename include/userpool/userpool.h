/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_USERPOOL_H
#define USERPOOL_USERPOOL_H

#include <userpool/common.h>
#include <userpool/err.h>
#include <userpool/config.h>
#include <userpool/ctx.h>
#include <userpool/jwt.h>
#include <userpool/signin.h>
#include <userpool/cognito.h>
#include <userpool/oidc.h>
#include <userpool/provider.h>
#include <userpool/otpauth.h>
#include <userpool/store.h>
#include <userpool/nss_store.h>
#include <userpool/tpm.h>
#include <userpool/conv.h>
#include <userpool/jwks.h>
#include <userpool/qr.h>

#endif
