# Copied into a scratch copy of a service root by tests/infra/test_alarm_actions.py and run with
# `terraform test` (plans only, against a mocked AWS provider: no account, no network). The last
# run must fail with the service module's precondition: outside the local environment an alarm
# that notifies nobody is refused at plan time.

mock_provider "aws" {
  mock_data "aws_ssm_parameter" {
    defaults = { insecure_value = "arn:aws:s3:::media-dev-123456789012-bucket" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

override_data {
  target = data.aws_ssm_parameter.platform["event-bus-arn"]
  values = { insecure_value = "arn:aws:events:us-east-1:123456789012:event-bus/media-dev" }
}

override_data {
  target = data.aws_ssm_parameter.platform["event-bus-name"]
  values = { insecure_value = "media-dev" }
}

run "dev_with_alarm_actions" {
  command = plan
  variables {
    environment   = "dev"
    alarm_actions = ["arn:aws:sns:us-east-1:123456789012:media-dev-alarms"]
  }
}

run "local_without_alarm_actions" {
  command = plan
  variables {
    environment = "local"
  }
}

run "dev_without_alarm_actions" {
  command = plan
  variables {
    environment = "dev"
  }
}
