//! Logging, IAM policies and roles, and the environment variables the
//! code reads.

use super::*;

#[test]
fn every_function_logs_json_to_its_own_log_group_kept_for_the_retention_parameter() {
    let template = template();
    assert_eq!(
        text(get(
            &template,
            &["Globals", "Function", "LoggingConfig", "LogFormat"]
        ))
        .as_deref(),
        Some("JSON")
    );
    let mut groups = BTreeSet::new();
    for function in functions(&template) {
        let id = &function.logical_id;
        let group = ref_target(get(
            &function.resource,
            &["Properties", "LoggingConfig", "LogGroup"],
        ))
        .unwrap_or_else(|| panic!("{id}: LoggingConfig.LogGroup must !Ref its log group"));
        assert!(
            groups.insert(group.clone()),
            "{id} shares log group {group}"
        );
        let resource = get(&template, &["Resources", &group])
            .unwrap_or_else(|| panic!("{id}: no resource {group}"));
        assert_eq!(
            text(resource.get("Type")).as_deref(),
            Some("AWS::Logs::LogGroup")
        );
        assert_eq!(
            ref_target(get(resource, &["Properties", "RetentionInDays"])).as_deref(),
            Some("LogRetentionInDays"),
            "{group}: RetentionInDays"
        );
    }
}

#[test]
fn policies_name_exact_actions_on_the_stacks_own_resources() {
    let template = template();
    let prefix = sub_text(get(
        &template,
        &[
            "Globals",
            "Function",
            "Environment",
            "Variables",
            "NOTIFY_TENANT_SECRET_PREFIX",
        ],
    ))
    .unwrap_or_else(|| panic!("Globals set NOTIFY_TENANT_SECRET_PREFIX with !Sub"));
    let tenant_secrets = format!(
        "arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{prefix}*"
    );
    let mut index_queriers = BTreeSet::new();
    for function in functions(&template) {
        let id = &function.logical_id;
        // Logs and traces are the Lambda service's: SAM grants them to the
        // roles it generates; a role of the template must grant them itself.
        let own_role = function.role().is_some();
        let log_group = function.log_group();
        for statement in function.statements(&template) {
            let actions = as_strings(statement.get("Action"));
            assert!(!actions.is_empty(), "{id}: a statement without actions");
            assert_eq!(text(statement.get("Effect")).as_deref(), Some("Allow"));
            let resource = statement.get("Resource");
            for action in &actions {
                assert!(!action.contains('*'), "{id}: wildcard action {action}");
                let (service, _) = action
                    .split_once(':')
                    .unwrap_or_else(|| panic!("{id}: malformed action {action}"));
                let allowed = match service {
                    "dynamodb" => {
                        let on_table = get_att(resource).as_deref() == Some("NotifyTable.Arn");
                        let on_index =
                            sub_text(resource).as_deref() == Some("${NotifyTable.Arn}/index/GSI1");
                        if on_index {
                            assert_eq!(action, "dynamodb:Query", "{id}: the index is only queried");
                            index_queriers.insert(function.crate_name());
                        }
                        on_table || on_index
                    }
                    "secretsmanager" => {
                        ref_target(resource).as_deref() == Some("UserTokenSigningSecret")
                            || sub_text(resource).as_deref() == Some(tenant_secrets.as_str())
                    }
                    "sqs" => {
                        let queue = get_att(resource);
                        queue.as_deref() == Some("DeliveryQueue.Arn")
                            || queue.as_deref() == Some("WebhookQueue.Arn")
                            // Only the worker, only to send poison messages.
                            || (queue.as_deref() == Some("DeliveryDeadLetterQueue.Arn")
                                && function.crate_name() == "delivery-worker"
                                && action == "sqs:SendMessage")
                    }
                    // Scheduled sends: the one-time schedules of the stack's
                    // group, which delete themselves (nothing to read or list).
                    "scheduler" => {
                        assert!(
                            SCHEDULE_ACTIONS.contains(&action.as_str()),
                            "{id}: {action}: schedules need only {SCHEDULE_ACTIONS:?}"
                        );
                        sub_text(resource).as_deref() == Some(GROUP_SCHEDULES)
                    }
                    // Only ScheduleRole, and only to EventBridge Scheduler.
                    "iam" => {
                        assert_eq!(action, "iam:PassRole", "{id}: IAM grants PassRole only");
                        let passed_to = get(
                            &statement,
                            &["Condition", "StringEquals", "iam:PassedToService"],
                        );
                        get_att(resource).as_deref() == Some("ScheduleRole.Arn")
                            && text(passed_to).as_deref() == Some("scheduler.amazonaws.com")
                    }
                    "logs" => {
                        assert!(
                            LOG_ACTIONS.contains(&action.as_str()),
                            "{id}: {action}: the stack creates the log group; only {LOG_ACTIONS:?}"
                        );
                        let group = log_group.as_deref().unwrap_or_else(|| {
                            panic!("{id}: writes logs but has no LoggingConfig.LogGroup")
                        });
                        // `!GetAtt G.Arn`, `!Sub ${G.Arn}` or the same ARN
                        // built from the group's name (both end in ":*", the
                        // group's log streams).
                        let group_arn = format!("{group}.Arn");
                        let sub_of_arn = format!("${{{group_arn}}}");
                        let sub_of_name = format!(
                            "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:${{{group}}}:*"
                        );
                        let sub = sub_text(resource);
                        own_role
                            && (get_att(resource) == Some(group_arn)
                                || sub == Some(sub_of_arn)
                                || sub == Some(sub_of_name))
                    }
                    // X-Ray has no resource-level permissions: "*" is the only
                    // resource its actions take.
                    "xray" => {
                        assert!(
                            XRAY_ACTIONS.contains(&action.as_str()),
                            "{id}: {action}: Tracing needs only {XRAY_ACTIONS:?}"
                        );
                        own_role && text(resource).as_deref() == Some("*")
                    }
                    other => panic!("{id}: unexpected service {other}"),
                };
                assert!(
                    allowed,
                    "{id}: {action} on an unexpected resource {resource:?}"
                );
            }
        }
    }
    assert_eq!(
        index_queriers,
        BTreeSet::from(["tenant-create".to_owned(), "tenant-list".to_owned()]),
        "only tenant-list and tenant-create (the per-org tenant cap) query GSI1"
    );
    // No statement grants kms:*, which SSE-SQS does not need. A customer
    // managed key would need kms:Decrypt and kms:GenerateDataKey on it for
    // the worker and kms:GenerateDataKey for every sender.
    for (id, resource) in get(&template, &["Resources"])
        .and_then(Yaml::as_mapping)
        .into_iter()
        .flatten()
    {
        if text(resource.get("Type")).as_deref() == Some("AWS::SQS::Queue") {
            let id = id.as_str().unwrap_or_default();
            assert_eq!(
                text(get(resource, &["Properties", "SqsManagedSseEnabled"])).as_deref(),
                Some("true"),
                "{id}: SSE-SQS (SqsManagedSseEnabled)"
            );
            assert!(
                get(resource, &["Properties", "KmsMasterKeyId"]).is_none(),
                "{id}: a KMS key needs kms:* grants that no role holds"
            );
        }
    }
}

/// What a function may do to schedules, and where.
const SCHEDULE_ACTIONS: &[&str] = &["scheduler:CreateSchedule", "scheduler:DeleteSchedule"];
const GROUP_SCHEDULES: &str =
    "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${ScheduleGroup}/*";

#[test]
fn the_schedule_role_is_assumed_only_for_this_accounts_group_and_only_sends_to_the_delivery_queues()
{
    let template = template();
    let role = get(&template, &["Resources", "ScheduleRole", "Properties"])
        .unwrap_or_else(|| panic!("template.yaml has no ScheduleRole"));
    let trust = get(role, &["AssumeRolePolicyDocument", "Statement"])
        .and_then(Yaml::as_sequence)
        .cloned()
        .unwrap_or_default();
    assert_eq!(trust.len(), 1, "one trust statement");
    assert_eq!(
        as_strings(get(&trust[0], &["Principal", "Service"])),
        vec!["scheduler.amazonaws.com".to_owned()]
    );
    assert_eq!(as_strings(trust[0].get("Action")), vec!["sts:AssumeRole"]);
    let condition = get(&trust[0], &["Condition", "StringEquals"]);
    assert_eq!(
        ref_target(condition.and_then(|c| c.get("aws:SourceAccount"))).as_deref(),
        Some("AWS::AccountId"),
        "confused deputy: only this account's schedules"
    );
    assert_eq!(
        get_att(condition.and_then(|c| c.get("aws:SourceArn"))).as_deref(),
        Some("ScheduleGroup.Arn"),
        "confused deputy: only the stack's group (a group ARN, not schedule ARNs)"
    );
    let statements: Vec<Yaml> = role
        .get("Policies")
        .and_then(Yaml::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|policy| get(policy, &["PolicyDocument", "Statement"]))
        .filter_map(Yaml::as_sequence)
        .flatten()
        .cloned()
        .collect();
    let mut queues = BTreeSet::new();
    for statement in &statements {
        assert_eq!(as_strings(statement.get("Action")), vec!["sqs:SendMessage"]);
        let resources = statement
            .get("Resource")
            .and_then(Yaml::as_sequence)
            .cloned()
            .unwrap_or_default();
        queues.extend(resources.iter().filter_map(|queue| get_att(Some(queue))));
    }
    assert_eq!(
        queues,
        BTreeSet::from([
            "DeliveryQueue.Arn".to_owned(),
            "DeliveryDeadLetterQueue.Arn".to_owned()
        ])
    );
    let variable = |name: &str| {
        get(
            &template,
            &["Globals", "Function", "Environment", "Variables", name],
        )
    };
    assert_eq!(
        ref_target(variable("NOTIFY_SCHEDULE_GROUP")).as_deref(),
        Some("ScheduleGroup")
    );
    for (name, target) in [
        ("NOTIFY_SCHEDULE_ROLE_ARN", "ScheduleRole.Arn"),
        ("NOTIFY_SCHEDULE_TARGET_ARN", "DeliveryQueue.Arn"),
        ("NOTIFY_SCHEDULE_DLQ_ARN", "DeliveryDeadLetterQueue.Arn"),
    ] {
        assert_eq!(get_att(variable(name)).as_deref(), Some(target), "{name}");
    }
}

#[test]
fn every_role_is_generated_from_inline_policies_or_a_role_of_this_template() {
    let template = template();
    let mut role_users: BTreeMap<String, String> = BTreeMap::new();
    for function in functions(&template) {
        let id = &function.logical_id;
        let has_sqs_event = !function.events_of_type("SQS").is_empty();
        let Some(role) = function.role() else {
            // SAM generates the role from Policies (inline documents only,
            // see statements(); none at all for a function without AWS calls).
            assert!(
                !has_sqs_event,
                "{id}: for an SQS event SAM attaches AWSLambdaSQSQueueExecutionRole (sqs:ReceiveMessage, DeleteMessage, GetQueueAttributes on \"*\") to the role it generates; give it a Role of this template"
            );
            continue;
        };
        assert!(
            function.property("Policies").is_none(),
            "{id}: SAM ignores Policies next to Role; put the statements in {role}"
        );
        if let Some(previous) = role_users.insert(role.clone(), id.clone()) {
            panic!("{id} and {previous} share {role}: one role per function");
        }
        let resource = get(&template, &["Resources", &role])
            .unwrap_or_else(|| panic!("{id}: Role names {role}, which template.yaml lacks"));
        assert_eq!(
            text(resource.get("Type")).as_deref(),
            Some("AWS::IAM::Role"),
            "{id}: Role names {role}, which is not an AWS::IAM::Role"
        );
        assert!(
            get(resource, &["Properties", "ManagedPolicyArns"]).is_none(),
            "{role}: no managed policies (they grant on \"*\"); write the statements inline"
        );
        let trust = get(
            resource,
            &["Properties", "AssumeRolePolicyDocument", "Statement"],
        )
        .and_then(Yaml::as_sequence)
        .cloned()
        .unwrap_or_default();
        assert_eq!(trust.len(), 1, "{role}: one trust statement");
        assert_eq!(text(trust[0].get("Effect")).as_deref(), Some("Allow"));
        assert_eq!(
            as_strings(get(&trust[0], &["Principal", "Service"])),
            vec!["lambda.amazonaws.com".to_owned()],
            "{role}: only Lambda assumes it"
        );
        assert!(
            get(&trust[0], &["Principal", "AWS"]).is_none()
                && get(&trust[0], &["Principal", "Federated"]).is_none(),
            "{role}: only Lambda assumes it"
        );
        assert_eq!(
            as_strings(trust[0].get("Action")),
            vec!["sts:AssumeRole".to_owned()],
            "{role}: trust action"
        );
        // What SAM's generated role would have had, scoped: the function's
        // own log group, traces, and for an SQS event its queue.
        let actions: BTreeSet<String> = function
            .statements(&template)
            .iter()
            .flat_map(|statement| as_strings(statement.get("Action")))
            .collect();
        let mut needed: Vec<&str> = LOG_ACTIONS.to_vec();
        if text(effective(&template, &function, "Tracing").as_ref()).as_deref() == Some("Active") {
            needed.extend(XRAY_ACTIONS);
        }
        if has_sqs_event {
            needed.extend(SQS_POLLER_ACTIONS);
        }
        for action in needed {
            assert!(
                actions.contains(action),
                "{role} lacks {action}, which SAM's generated role would have had"
            );
        }
    }
}

#[test]
fn every_notify_variable_the_code_reads_is_set_or_local_only() {
    let template = template();
    let mut set: BTreeSet<String> = get(
        &template,
        &["Globals", "Function", "Environment", "Variables"],
    )
    .and_then(Yaml::as_mapping)
    .into_iter()
    .flatten()
    .filter_map(|(name, _)| name.as_str().map(str::to_owned))
    .collect();
    for function in functions(&template) {
        if let Some(variables) = get(
            &function.resource,
            &["Properties", "Environment", "Variables"],
        )
        .and_then(Yaml::as_mapping)
        {
            set.extend(
                variables
                    .keys()
                    .filter_map(|name| name.as_str().map(str::to_owned)),
            );
        }
    }
    let mut read = BTreeSet::new();
    let mut sources = vec![root().join("shared/src")];
    for crate_name in function_crates() {
        sources.push(root().join("functions").join(crate_name).join("src"));
    }
    while let Some(path) = sources.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                sources.push(entry.path());
            }
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let source = std::fs::read_to_string(&path).unwrap_or_default();
            for piece in source.split('"').skip(1).step_by(2) {
                let is_name = piece.starts_with("NOTIFY_")
                    && piece
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                if is_name {
                    read.insert(piece.to_owned());
                }
            }
        }
    }
    assert!(
        read.contains("NOTIFY_TABLE_NAME"),
        "the scan found the config"
    );
    for name in &read {
        assert!(
            set.contains(name) || LOCAL_ONLY_VARIABLES.contains(&name.as_str()),
            "{name} is read by the code but set by no function in template.yaml"
        );
    }
    for name in LOCAL_ONLY_VARIABLES {
        assert!(
            !set.contains(*name),
            "{name} points at the local push simulator; never set it in template.yaml"
        );
    }
}
