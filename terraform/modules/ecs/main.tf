# The runtime as an ECS Fargate service in private subnets, registered in a
# private DNS namespace so that workers reach it at runtime.<namespace>.

data "aws_region" "current" {}

locals {
  common_tags    = merge(var.tags, { Module = "pulse-ecs" })
  container_name = "pulse-runtime"

  # The runtime's settings; see docs/operations.md for each.
  environment = merge(
    {
      PULSE_GRPC_ADDR       = "0.0.0.0:${var.grpc_port}"
      PULSE_METRICS_ADDR    = "0.0.0.0:${var.metrics_port}"
      PULSE_STORAGE_BACKEND = "s3"
      PULSE_S3_BUCKET       = var.bucket_name
      PULSE_S3_REGION       = data.aws_region.current.name
      PULSE_S3_PREFIX       = var.key_prefix
      PULSE_LOG_LEVEL       = var.log_level
      PULSE_LOG_FORMAT      = "json"
    },
    var.extra_environment,
    {
      # The task listens on 0.0.0.0, where the runtime refuses to start
      # without tokens unless this says every caller may act as admin.
      PULSE_AUTH_ALLOW_ANONYMOUS = tostring(var.allow_anonymous)
    },
  )

  # The tokens come from Secrets Manager through the task definition's
  # secrets (read by the execution role at start), never as plain
  # environment in the task definition.
  secrets = var.auth_tokens_secret_arn == null ? [] : [
    { name = "PULSE_AUTH_TOKENS", valueFrom = var.auth_tokens_secret_arn },
  ]
}

resource "aws_cloudwatch_log_group" "runtime" {
  name              = var.log_group_name
  retention_in_days = var.log_retention_days
  tags              = local.common_tags
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = var.container_insights ? "enabled" : "disabled"
  }

  tags = local.common_tags
}

resource "aws_ecs_task_definition" "runtime" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  task_role_arn            = var.task_role_arn
  execution_role_arn       = var.execution_role_arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name      = local.container_name
      image     = var.image
      essential = true
      command   = ["serve"]
      portMappings = [
        { containerPort = var.grpc_port, protocol = "tcp", name = "grpc" },
        { containerPort = var.metrics_port, protocol = "tcp", name = "metrics" },
      ]
      environment = [
        for key in sort(keys(local.environment)) : { name = key, value = local.environment[key] }
      ]
      secrets = local.secrets
      healthCheck = {
        command     = ["CMD", "curl", "--fail", "--silent", "--max-time", "2", "http://127.0.0.1:${var.metrics_port}/healthz"]
        interval    = 10
        timeout     = 3
        retries     = 3
        startPeriod = 15
      }
      # Longer than server.drain_timeout_ms (30 s): SIGTERM starts the drain,
      # SIGKILL comes only after this.
      stopTimeout = 45
      user        = "10001:10001"
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.runtime.name
          awslogs-region        = data.aws_region.current.name
          awslogs-stream-prefix = "runtime"
        }
      }
    }
  ])

  lifecycle {
    precondition {
      condition     = var.auth_tokens_secret_arn != null || var.allow_anonymous
      error_message = "Set auth_tokens_secret_arn (a Secrets Manager secret holding the PULSE_AUTH_TOKENS JSON) or allow_anonymous = true: the task listens on 0.0.0.0, where the runtime refuses to start (exit 2) without tokens unless anonymous access is allowed."
    }
  }

  tags = local.common_tags
}

resource "aws_service_discovery_private_dns_namespace" "this" {
  name        = var.service_discovery_namespace
  description = "PulseCheckpoint runtime discovery"
  vpc         = var.vpc_id
  tags        = local.common_tags
}

resource "aws_service_discovery_service" "runtime" {
  name = "runtime"

  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.this.id
    routing_policy = "MULTIVALUE"

    dns_records {
      type = "A"
      ttl  = 10
    }
  }

  tags = local.common_tags
}

resource "aws_ecs_service" "runtime" {
  name            = var.name
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.runtime.arn
  desired_count   = var.desired_count
  launch_type     = "FARGATE"

  # Rolling deploys: a new task is healthy before an old one drains.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = var.security_group_ids
    assign_public_ip = false
  }

  service_registries {
    registry_arn = aws_service_discovery_service.runtime.arn
  }

  propagate_tags = "SERVICE"
  tags           = local.common_tags
}
