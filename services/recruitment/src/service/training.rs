//! Information meetings and training courses (sessions, enrolment, attendance).

use super::{R, Recruitment, pending};
use samling_kit::auth::AuthContext;
use samling_proto::recruitment::v1::*;

impl Recruitment {
    pub async fn create_info_meeting(
        &self,
        _ctx: &AuthContext,
        _req: CreateInfoMeetingRequest,
    ) -> R<InfoMeeting> {
        Err(pending("CreateInfoMeeting"))
    }

    pub async fn list_info_meetings(
        &self,
        _ctx: &AuthContext,
        _req: ListInfoMeetingsRequest,
    ) -> R<ListInfoMeetingsResponse> {
        Err(pending("ListInfoMeetings"))
    }

    pub async fn record_info_meeting_attendance(
        &self,
        _ctx: &AuthContext,
        _req: RecordInfoMeetingAttendanceRequest,
    ) -> R<InfoMeeting> {
        Err(pending("RecordInfoMeetingAttendance"))
    }

    pub async fn create_course(&self, _ctx: &AuthContext, _req: CreateCourseRequest) -> R<Course> {
        Err(pending("CreateCourse"))
    }

    pub async fn get_course(&self, _ctx: &AuthContext, _req: GetCourseRequest) -> R<Course> {
        Err(pending("GetCourse"))
    }

    pub async fn list_courses(
        &self,
        _ctx: &AuthContext,
        _req: ListCoursesRequest,
    ) -> R<ListCoursesResponse> {
        Err(pending("ListCourses"))
    }

    pub async fn add_course_session(
        &self,
        _ctx: &AuthContext,
        _req: AddCourseSessionRequest,
    ) -> R<Course> {
        Err(pending("AddCourseSession"))
    }

    pub async fn enrol_in_course(
        &self,
        _ctx: &AuthContext,
        _req: EnrolInCourseRequest,
    ) -> R<Course> {
        Err(pending("EnrolInCourse"))
    }

    pub async fn record_attendance(
        &self,
        _ctx: &AuthContext,
        _req: RecordAttendanceRequest,
    ) -> R<Course> {
        Err(pending("RecordAttendance"))
    }
}
