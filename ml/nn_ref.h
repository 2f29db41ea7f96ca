/* nn_ref.h - naive reference kernels in double precision, generic over shapes: the test oracle
 * for the fast float kernels (nn_layers.h) and the model (nn.h). Written straight from the
 * definitions (PyTorch's semantics), for clarity, not speed. Layouts as in PyTorch: x (N,C,H,W),
 * conv weight (OC,C,KH,KW), linear weight (OUT,IN). Convolutions are stride 1, no padding.
 */
#ifndef NN_REF_H
#define NN_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* y (N,OC,H-KH+1,W-KW+1) = conv(x) + b (b may be NULL). */
void nn_ref_conv2d_fwd(int n, int c, int h, int w, int oc, int kh, int kw, const double *x,
                       const double *wt, const double *b, double *y);
/* Overwrites dw (OC,C,KH,KW), db (OC, may be NULL) and dx (N,C,H,W, may be NULL). */
void nn_ref_conv2d_bwd(int n, int c, int h, int w, int oc, int kh, int kw, const double *x,
                       const double *wt, const double *dy, double *dx, double *dw, double *db);

/* BatchNorm2d over (N,C,HW), training mode: batch mean and biased variance; mean/var (C) are
 * returned if not NULL (var biased). */
void nn_ref_bn_train_fwd(int n, int c, int hw, const double *x, const double *gamma,
                         const double *beta, double eps, double *y, double *mean, double *var);
/* Backward through the batch statistics (the textbook formula). */
void nn_ref_bn_train_bwd(int n, int c, int hw, const double *x, const double *gamma, double eps,
                         const double *dy, double *dx, double *dgamma, double *dbeta);
/* Evaluation mode: running statistics. */
void nn_ref_bn_eval_fwd(int n, int c, int hw, const double *x, const double *gamma,
                        const double *beta, const double *rmean, const double *rvar, double eps,
                        double *y);
void nn_ref_bn_eval_bwd(int n, int c, int hw, const double *x, const double *gamma,
                        const double *rmean, const double *rvar, double eps, const double *dy,
                        double *dx, double *dgamma, double *dbeta);

void nn_ref_relu_fwd(size_t n, const double *x, double *y);
/* dx = dy where x > 0, else 0 (PyTorch's threshold_backward). */
void nn_ref_relu_bwd(size_t n, const double *x, const double *dy, double *dx);

/* 2x2 max-pool, stride 2, floor mode: y (N,C,H/2,W/2). Ties: first in row-major window order. */
void nn_ref_maxpool2_fwd(int n, int c, int h, int w, const double *x, double *y);
/* dx (N,C,H,W) = dy routed to each window's first maximum (zero elsewhere). */
void nn_ref_maxpool2_bwd(int n, int c, int h, int w, const double *x, const double *dy, double *dx);

/* y (N,OUT) = x (N,IN) w^T + b. */
void nn_ref_linear_fwd(int n, int in, int out, const double *x, const double *w, const double *b,
                       double *y);
/* Overwrites dx (may be NULL), dw, db. */
void nn_ref_linear_bwd(int n, int in, int out, const double *x, const double *w, const double *dy,
                       double *dx, double *dw, double *db);

/* Mean softmax cross-entropy over n rows of k logits; dlogits (may be NULL) = d loss / d logits. */
double nn_ref_softmax_ce(int n, int k, const double *logits, const uint8_t *labels,
                         double *dlogits);

/* The whole network of nn.h in double, layer by layer in PyTorch's order (conv, bn, relu, pool).
 * state: NN_STATE_FLOATS values in the nn_views() layout. x (n,3,64,64). Outputs (each may be
 * NULL): logits (n,10); grads (NN_PARAMS, d mean loss / d param); buffers (NN_BUFFERS: running
 * statistics after this forward - updated in training mode, copied in eval mode).
 * Writes the mean loss to *loss. Returns 0, or CS_ENOMEM. */
int nn_ref_net(const double *state, const double *x, const uint8_t *labels, int n, bool training,
               double *loss, double *logits, double *grads, double *buffers);

#endif
