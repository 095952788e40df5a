//! `upgrade apply`'s cluster health checks (sheet §4.2 step 4, kubeadm's `CheckClusterHealth`), the pure part:
//! the `CreateJob` check's Job, its timeout, and which control-plane Nodes count as NotReady. Facts read in
//! kubeadm's `cmd/kubeadm/app/phases/upgrade/health.go` @`f0100b7d` (v1.30–1.31): the Job has
//! `generateName: upgrade-health-check-`, `backoffLimit: 0`, `ttlSecondsAfterFinished: timeout + 5`, a pod that
//! runs as 999:999 non-root, tolerates the control-plane `NoSchedule` taint and runs the pause image with `-v`;
//! a Node is NotReady when it *has* a `Ready` condition whose status is not `True` (a Node without one passes).
//! From 1.32 the Job also has `activeDeadlineSeconds: timeout` (PR 127333: "set the activeDeadlineSeconds to the
//! same timeout"; that it sits in the JobSpec is read from the PR's description, not its diff).
//!
//! Not modelled: kubeadm before 1.30 (targets v1.28/v1.29) created the Job under the fixed name
//! `upgrade-health-check` without a TTL, deleted it before and after (foreground), printed
//! `Would create the Job "upgrade-health-check" …` in dry-run and had no schedulable-Node check (PR 122079 and
//! PR 124503 changed that for 1.30; kubeadm#3050 quotes v1.29.1); kbinit runs the 1.30+ check for every target.

use std::time::Duration;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, Node, PodSecurityContext, PodSpec, PodTemplateSpec, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::version::KubeVersion;

/// The Job's name prefix (kubeadm's `prefix`), also its container's name.
pub const JOB_PREFIX: &str = "upgrade-health-check";
/// The namespace the Job is created in.
pub const JOB_NAMESPACE: &str = "kube-system";
/// The label (and taint key) of control-plane Nodes.
pub const CONTROL_PLANE_LABEL: &str = "node-role.kubernetes.io/control-plane";
/// The field selector of the "is there a schedulable Node" list (with `limit=1`).
pub const SCHEDULABLE_NODES: &str = "spec.unschedulable=false";

/// How long `CreateJob` polls (every second) for the create and then for the `Complete` condition: 15s, 1m
/// from 1.36 ([`KubeVersion::long_health_check_job`]).
pub fn job_timeout(target: &KubeVersion) -> Duration {
    Duration::from_secs(if target.long_health_check_job() { 60 } else { 15 })
}

/// The health-check Job kubeadm `target` creates, with the pause image from `image_repository`.
pub fn health_check_job(image_repository: &str, target: &KubeVersion) -> Job {
    let ttl = job_timeout(target).as_secs() as i32 + 5; // more than the timeout, as kubeadm says
    Job {
        metadata: ObjectMeta {
            generate_name: Some(format!("{JOB_PREFIX}-")),
            namespace: Some(JOB_NAMESPACE.into()),
            ..Default::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(0),
            active_deadline_seconds: target.health_check_job_deadline().then(|| job_timeout(target).as_secs() as i64),
            ttl_seconds_after_finished: Some(ttl),
            template: PodTemplateSpec {
                metadata: None,
                spec: Some(PodSpec {
                    restart_policy: Some("Never".into()),
                    security_context: Some(PodSecurityContext {
                        run_as_user: Some(999),
                        run_as_group: Some(999),
                        run_as_non_root: Some(true),
                        ..Default::default()
                    }),
                    tolerations: Some(vec![Toleration {
                        key: Some(CONTROL_PLANE_LABEL.into()),
                        effect: Some("NoSchedule".into()),
                        ..Default::default()
                    }]),
                    containers: vec![Container {
                        name: JOB_PREFIX.into(),
                        image: Some(format!("{image_repository}/pause:{}", target.pause_tag())),
                        args: Some(vec!["-v".into()]),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        status: None,
    }
}

/// Whether a Job has the `Complete` condition (kubeadm looks at the type only, not its status).
pub fn job_complete(job: &Job) -> bool {
    let conditions = job.status.as_ref().and_then(|s| s.conditions.as_ref());
    conditions.is_some_and(|c| c.iter().any(|c| c.type_ == "Complete"))
}

/// The names of the Nodes whose `Ready` condition is present and not `True`, in list order.
pub fn not_ready_nodes(nodes: &[Node]) -> Vec<String> {
    nodes
        .iter()
        .filter(|n| {
            let conditions = n.status.as_ref().and_then(|s| s.conditions.as_ref());
            conditions.is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status != "True"))
        })
        .map(|n| n.metadata.name.clone().unwrap_or_default())
        .collect()
}

/// A list of names as Go's `%v` prints a `[]string`: `[a b]`.
pub fn go_list(names: &[String]) -> String {
    format!("[{}]", names.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};
    use k8s_openapi::api::core::v1::{NodeCondition, NodeStatus};

    fn v(s: &str) -> KubeVersion {
        KubeVersion::resolve(s).unwrap()
    }

    #[test]
    fn the_job_is_kubeadms_field_by_field() {
        let job = health_check_job("registry.k8s.io", &v("v1.35.0"));
        assert_eq!(job.metadata.generate_name.as_deref(), Some("upgrade-health-check-"));
        assert_eq!(job.metadata.name, None);
        assert_eq!(job.metadata.namespace.as_deref(), Some("kube-system"));
        assert_eq!(job.metadata.labels, None);
        let spec = job.spec.as_ref().unwrap();
        assert_eq!(spec.backoff_limit, Some(0));
        assert_eq!(spec.ttl_seconds_after_finished, Some(20));
        assert_eq!(spec.active_deadline_seconds, Some(15));
        assert_eq!(spec.completions, None);
        assert_eq!(spec.parallelism, None);
        assert_eq!(spec.template.metadata, None);
        let pod = spec.template.spec.as_ref().unwrap();
        assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
        let sc = pod.security_context.as_ref().unwrap();
        assert_eq!((sc.run_as_user, sc.run_as_group, sc.run_as_non_root), (Some(999), Some(999), Some(true)));
        assert_eq!(sc.fs_group, None);
        let tol = pod.tolerations.as_ref().unwrap();
        assert_eq!(tol.len(), 1);
        assert_eq!(tol[0].key.as_deref(), Some("node-role.kubernetes.io/control-plane"));
        assert_eq!(tol[0].effect.as_deref(), Some("NoSchedule"));
        assert_eq!((tol[0].operator.as_ref(), tol[0].value.as_ref()), (None, None));
        assert_eq!(pod.containers.len(), 1);
        let c = &pod.containers[0];
        assert_eq!(c.name, "upgrade-health-check");
        assert_eq!(c.image.as_deref(), Some(format!("registry.k8s.io/pause:{}", v("v1.35.0").pause_tag()).as_str()));
        assert_eq!(c.args.as_deref(), Some(&["-v".to_string()][..]));
        assert_eq!((c.command.as_ref(), c.image_pull_policy.as_ref()), (None, None));
        assert!(job.status.is_none());
    }

    #[test]
    fn the_timeout_is_a_minute_from_136_and_the_ttl_follows_it() {
        assert_eq!(job_timeout(&v("v1.28.7")), Duration::from_secs(15));
        assert_eq!(job_timeout(&v("v1.35.2")), Duration::from_secs(15));
        assert_eq!(job_timeout(&v("v1.36.0")), Duration::from_secs(60));
        let job = health_check_job("my.repo", &v("v1.36.1"));
        assert_eq!(job.spec.as_ref().unwrap().ttl_seconds_after_finished, Some(65));
        assert_eq!(job.spec.as_ref().unwrap().active_deadline_seconds, Some(60));
        let before_deadline = health_check_job("r", &v("v1.31.0")).spec.unwrap();
        assert_eq!(
            (before_deadline.active_deadline_seconds, before_deadline.ttl_seconds_after_finished),
            (None, Some(20))
        );
        let image = job.spec.unwrap().template.spec.unwrap().containers[0].image.clone().unwrap();
        assert_eq!(image, format!("my.repo/pause:{}", v("v1.36.1").pause_tag()));
    }

    fn node(name: &str, ready: Option<&str>) -> Node {
        Node {
            metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
            status: ready.map(|s| NodeStatus {
                conditions: Some(vec![
                    NodeCondition { type_: "MemoryPressure".into(), status: "False".into(), ..Default::default() },
                    NodeCondition { type_: "Ready".into(), status: s.into(), ..Default::default() },
                ]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn not_ready_means_a_ready_condition_that_is_not_true() {
        let nodes = [node("a", Some("True")), node("b", Some("False")), node("c", None), node("d", Some("Unknown"))];
        let names = not_ready_nodes(&nodes);
        assert_eq!(names, ["b", "d"]);
        assert_eq!(go_list(&names), "[b d]");
        assert_eq!(go_list(&[]), "[]");
    }

    #[test]
    fn a_job_is_complete_by_the_condition_type() {
        let mut job = health_check_job("r", &v("v1.30.0"));
        assert!(!job_complete(&job));
        let cond = |t: &str| JobCondition { type_: t.into(), status: "True".into(), ..Default::default() };
        job.status = Some(JobStatus { conditions: Some(vec![cond("SuccessCriteriaMet")]), ..Default::default() });
        assert!(!job_complete(&job));
        job.status = Some(JobStatus { conditions: Some(vec![cond("Complete")]), ..Default::default() });
        assert!(job_complete(&job));
    }
}
