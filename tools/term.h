/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_TERM_H
#define UP_TERM_H
#endif
