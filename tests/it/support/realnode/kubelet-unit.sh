# The kubelet's service on a real node (tests/it/support/realnode), in the role of kubelet.service with
# kubeadm's drop-in: while the unit is wanted ($S/kubelet.want says "run"), the kubelet runs with the drop-in's
# flags, kubeadm-flags.env and the extra-arguments file ($S/kubelet.defaults, the role of /etc/default/kubelet);
# after an exit it starts again a second later (Restart=always), or at once when the stand-in systemctl kicks.
# $1: the node's state directory; $2: the kubelet binary.
S=$1
KUBELET=$2
while :; do
  if [ "$(cat "$S/kubelet.want" 2>/dev/null)" = run ]; then
    rm -f "$S/kick"
    KUBELET_KUBEADM_ARGS=""
    KUBELET_EXTRA_ARGS=""
    [ -r /var/lib/kubelet/kubeadm-flags.env ] && . /var/lib/kubelet/kubeadm-flags.env
    [ -r "$S/kubelet.defaults" ] && . "$S/kubelet.defaults"
    echo "== kubelet start $(date +%T.%N)" >> "$S/logs/kubelet.log"
    # shellcheck disable=SC2086 # the drop-in's variables are word lists
    "$KUBELET" --bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf \
      --kubeconfig=/etc/kubernetes/kubelet.conf --config=/var/lib/kubelet/config.yaml \
      $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS >> "$S/logs/kubelet.log" 2>&1 &
    echo $! > "$S/kubelet.pid"
    wait $! || true
    echo "== kubelet exit $(date +%T.%N)" >> "$S/logs/kubelet.log"
    rm -f "$S/kubelet.pid"
  fi
  i=0
  while [ $i -lt 10 ] && [ ! -e "$S/kick" ]; do sleep 0.1; i=$((i + 1)); done
done
