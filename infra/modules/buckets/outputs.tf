output "bucket_names" {
  description = "Name of each bucket, by logical name."
  value       = { for key, bucket in aws_s3_bucket.this : key => bucket.bucket }
}

output "bucket_arns" {
  description = "ARN of each bucket, by logical name."
  value       = { for key, bucket in aws_s3_bucket.this : key => bucket.arn }
}

output "bucket_regional_domain_names" {
  description = "Regional domain name of each bucket (for presigned URLs and CORS clients), by logical name."
  value       = { for key, bucket in aws_s3_bucket.this : key => bucket.bucket_regional_domain_name }
}

output "eventbridge_notification_buckets" {
  description = "Logical names of the buckets that send their events to the default EventBridge bus."
  value       = sort(keys(aws_s3_bucket_notification.this))
}
